"""Serve a local model over the OpenAI chat-completions protocol.

Why: the same evaluation code then runs against a tiny CPU model, a checkpoint on another machine or a vLLM
server, and the ``OpenAIBackend`` can be tested end to end against a real server with a known model.
A request's ``seed`` is used as the row seed of ``HFBackend``, so a client that sends ``row_seed(s, i)``
(as ``OpenAIBackend`` does) gets exactly the in-process answers for seed ``s``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from jinja2 import TemplateError
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from sftgen.models.batcher import MicroBatcher, Overloaded
from sftgen.models.hf_backend import HFBackend
from sftgen.models.loading import load_model
from sftgen.models.sampling import Sampling

DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True)
class ServeLimits:
    """What one request may ask of the server. Why: without them one 5 MB body or ``max_tokens: 1e9`` took
    tens of GB of memory and a burst of clients queued without end (issue 20).

    ``max_body_bytes``: larger request bodies get HTTP 413 before they are read into memory.
    ``max_tokens``: a request's ``max_tokens`` is clamped to this (and to the room left in the context).
    ``max_pending``: requests queued or decoding at once; more get HTTP 503 with ``Retry-After``.
    ``context``: prompt tokens + 1 must fit in it (HTTP 400 naming both numbers); None reads it from the model.
    """

    max_body_bytes: int = 1 << 20
    max_tokens: int = 2048
    max_pending: int = 256
    context: int | None = None
    retry_after_s: int = 1

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_tokens", "max_pending", "retry_after_s"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.context is not None and self.context < 2:
            raise ValueError(f"context must be >= 2 tokens or None, got {self.context}")


def model_context(model: Any, tokenizer: Any) -> int | None:
    """The longest sequence the model was built for, from its config (or a real tokenizer limit), else None."""
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 10**7 else None  # HF's "unset" is ~1e30


class BodyLimit:
    """ASGI middleware: answer 413 to a body over ``max_bytes`` without holding more than ``max_bytes`` of it.

    Why here and not in the route: FastAPI reads and parses the whole body before the route runs.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(send, declared.decode("latin-1"))
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send, f"more than {size}")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Any, size: str) -> None:
        response = JSONResponse(
            {"detail": f"request body of {size} bytes is over the limit of {self.max_bytes} bytes"},
            status_code=413,
            headers={"Connection": "close"},
        )
        await response({"type": "http"}, _no_body, send)


async def _no_body() -> dict:
    return {"type": "http.disconnect"}


class Message(BaseModel):
    """One chat message; list content (OpenAI "parts") is accepted when every part is text."""

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message content as plain text."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        parts = []
        for part in self.content:
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise HTTPException(400, f"only text content parts are supported, got {part.get('type')!r}")
            parts.append(part["text"])
        return "".join(parts)


class ChatRequest(BaseModel):
    """The subset of the OpenAI request this server honours; unsupported options are refused, not ignored."""

    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    seed: int | None = None
    n: int = 1
    stop: str | list[str] | None = None
    stream: bool = False

    def sampling(self, max_tokens_limit: int) -> Sampling:
        """Decoding settings as a validated ``Sampling`` (HTTP 400 on invalid values); ``max_tokens`` clamped."""
        if self.n != 1:
            raise HTTPException(400, "only n=1 is supported")
        if self.stream:
            raise HTTPException(400, "stream=true is not supported")
        if self.stop:
            raise HTTPException(400, "stop sequences are not supported (generation stops at end of turn)")
        max_tokens = next(
            (v for v in (self.max_completion_tokens, self.max_tokens) if v is not None), DEFAULT_MAX_TOKENS
        )
        max_tokens = min(max_tokens, max_tokens_limit)
        try:
            return Sampling(temperature=self.temperature, top_p=self.top_p, max_new_tokens=max_tokens)
        except ValueError as err:
            raise HTTPException(400, str(err)) from err

    def chat(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.text()} for m in self.messages]


@dataclass(frozen=True)
class _Answer:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


Answerer = Callable[[ChatRequest, int], Awaitable[_Answer]]


def _build_app(model_name: str, answer: Answerer, limits: ServeLimits, lifespan: Any = None) -> FastAPI:
    """The HTTP surface shared by models and agents: limits, errors as one-line JSON, the OpenAI shape."""
    app = FastAPI(title="sftgen model server", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(Exception)
    async def internal_error(_: Request, err: Exception) -> JSONResponse:  # one bad request never kills the server
        return JSONResponse({"detail": f"internal error: {type(err).__name__}: {err}"[:500]}, status_code=500)

    @app.get("/v1/models")
    def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "sftgen"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: ChatRequest) -> dict[str, Any]:
        seed = request.seed if request.seed is not None else secrets.randbits(31)
        done = await answer(request, seed)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model_name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": done.text},
                    "finish_reason": done.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": done.prompt_tokens,
                "completion_tokens": done.completion_tokens,
                "total_tokens": done.prompt_tokens + done.completion_tokens,
            },
        }

    return app


def create_app(
    model: Any,
    tokenizer: Any,
    *,
    model_name: str = "sftgen",
    batch_size: int = 64,
    max_wait_s: float = 0.01,
    limits: ServeLimits | None = None,
) -> FastAPI:
    """A FastAPI app with ``POST /v1/chat/completions`` and ``GET /v1/models`` over ``model``.

    Concurrent requests with the same decoding settings are decoded together (up to ``batch_size``).
    """
    limits = limits or ServeLimits()
    context = limits.context or model_context(model, tokenizer)
    backend = HFBackend(model, tokenizer, batch_size=batch_size)
    state: dict[str, MicroBatcher] = {}
    lock = threading.Lock()

    def batcher() -> MicroBatcher:
        with lock:  # started lazily so an app that is built but never served owns no thread
            if "batcher" not in state:
                state["batcher"] = MicroBatcher(
                    backend, max_batch=batch_size, max_wait_s=max_wait_s, max_pending=limits.max_pending
                )
            return state["batcher"]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        with lock:
            running = state.pop("batcher", None)
        if running is not None:
            running.close()

    def encode(chat: list[dict[str, str]]) -> list[int]:
        try:
            return backend.encode(chat)
        except TemplateError as err:
            raise HTTPException(400, f"chat template rejected the messages: {err}") from err

    async def answer(request: ChatRequest, seed: int) -> _Answer:
        sampling = request.sampling(limits.max_tokens)
        prompt = await run_in_threadpool(encode, request.chat())
        if context is not None:
            if len(prompt) >= context:
                raise HTTPException(400, f"the prompt is {len(prompt)} tokens; the model's context is {context} tokens")
            room = context - len(prompt)
            if sampling.max_new_tokens > room:
                sampling = dataclasses.replace(sampling, max_new_tokens=room)
        try:
            future = batcher().submit_future(prompt, sampling, seed)
        except Overloaded as err:
            raise HTTPException(
                503, f"server busy: {err}; retry later", headers={"Retry-After": str(limits.retry_after_s)}
            ) from err
        done = await asyncio.wrap_future(future)
        return _Answer(done.text, done.finish_reason, done.prompt_tokens, done.completion_tokens)

    return _build_app(model_name, answer, limits, lifespan)


def create_agent_app(kind: str, *, limits: ServeLimits | None = None) -> FastAPI:
    """Serve a reference agent (oracle, shortcut, random) like a model: it answers the last message by rule.

    Each request gets its own agent seeded by the request's seed, so answers are reproducible and the server
    keeps no per-prompt state. Token counts are whitespace words (agents have no tokenizer).
    """
    from sftgen.agents import ReferenceAgent
    from sftgen.tasks.protocol import require_agent

    require_agent(kind)
    limits = limits or ServeLimits()
    slots = asyncio.Semaphore(limits.max_pending)

    def run(prompt: str, seed: int) -> str:
        try:
            return ReferenceAgent(kind, seed=seed).answer(prompt)
        except ValueError as err:  # the prompt is not a task prompt the agent can read
            raise HTTPException(400, f"the {kind} agent cannot read this prompt: {err}") from err

    async def answer(request: ChatRequest, seed: int) -> _Answer:
        request.sampling(limits.max_tokens)  # the same validation as for a model
        prompt = request.chat()[-1]["content"]
        if slots.locked():
            raise HTTPException(503, "server busy; retry later", headers={"Retry-After": str(limits.retry_after_s)})
        async with slots:
            text = await run_in_threadpool(run, prompt, seed)
        return _Answer(text, "stop", len(prompt.split()), len(text.split()))

    return _build_app(kind, answer, limits)


class BackgroundServer:
    """Run an ASGI app with uvicorn in a daemon thread on a loopback port (tests, notebooks, local eval).

    ``with BackgroundServer(app) as server: OpenAIBackend(server.url)``; port 0 picks a free port.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 30.0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:53121``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        """Bind, start serving and wait until the server accepts requests."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="sftgen-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server on {self.url} did not start within {self.startup_timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    model_path: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    device: str | None = None,
    dtype: str | None = None,
    batch_size: int = 64,
    log_level: str = "info",
    limits: ServeLimits | None = None,
) -> None:
    """Serve ``model_path`` (an agent name, or a model for ``load_model``) until interrupted (blocking)."""
    from sftgen.tasks.protocol import AGENTS

    if model_path in AGENTS:
        app = create_agent_app(model_path, limits=limits)
    else:
        model, tokenizer = load_model(model_path, device=device, dtype=dtype)
        app = create_app(model, tokenizer, model_name=model_path, batch_size=batch_size, limits=limits)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
