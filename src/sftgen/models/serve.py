"""Serve a local model over the OpenAI chat-completions protocol.

Why: the same evaluation code then runs against a tiny CPU model, a checkpoint on another machine or a vLLM
server, and the ``OpenAIBackend`` can be tested end to end against a real server with a known model.
A request's ``seed`` is used as the row seed of ``HFBackend``, so a client that sends ``row_seed(s, i)``
(as ``OpenAIBackend`` does) gets exactly the in-process answers for seed ``s``.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from jinja2 import TemplateError
from pydantic import BaseModel, Field

from sftgen.models.batcher import MicroBatcher
from sftgen.models.hf_backend import HFBackend
from sftgen.models.loading import load_model
from sftgen.models.sampling import Sampling

DEFAULT_MAX_TOKENS = 256


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

    def sampling(self) -> Sampling:
        """Decoding settings as a validated ``Sampling`` (HTTP 400 on invalid values)."""
        if self.n != 1:
            raise HTTPException(400, "only n=1 is supported")
        if self.stream:
            raise HTTPException(400, "stream=true is not supported")
        if self.stop:
            raise HTTPException(400, "stop sequences are not supported (generation stops at end of turn)")
        max_tokens = next(
            (v for v in (self.max_completion_tokens, self.max_tokens) if v is not None), DEFAULT_MAX_TOKENS
        )
        try:
            return Sampling(temperature=self.temperature, top_p=self.top_p, max_new_tokens=max_tokens)
        except ValueError as err:
            raise HTTPException(400, str(err)) from err


def create_app(
    model: Any, tokenizer: Any, *, model_name: str = "sftgen", batch_size: int = 64, max_wait_s: float = 0.01
) -> FastAPI:
    """A FastAPI app with ``POST /v1/chat/completions`` and ``GET /v1/models`` over ``model``.

    Concurrent requests with the same decoding settings are decoded together (up to ``batch_size``).
    """
    backend = HFBackend(model, tokenizer, batch_size=batch_size)
    state: dict[str, MicroBatcher] = {}
    lock = threading.Lock()

    def batcher() -> MicroBatcher:
        with lock:  # started lazily so an app that is built but never served owns no thread
            if "batcher" not in state:
                state["batcher"] = MicroBatcher(backend, max_batch=batch_size, max_wait_s=max_wait_s)
            return state["batcher"]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        with lock:
            running = state.pop("batcher", None)
        if running is not None:
            running.close()

    app = FastAPI(title="sftgen model server", lifespan=lifespan)

    @app.get("/v1/models")
    def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "sftgen"}]}

    @app.post("/v1/chat/completions")
    def chat_completions(request: ChatRequest) -> dict[str, Any]:
        sampling = request.sampling()
        chat = [{"role": m.role, "content": m.text()} for m in request.messages]
        try:
            prompt = backend.encode(chat)
        except TemplateError as err:
            raise HTTPException(400, f"chat template rejected the messages: {err}") from err
        seed = request.seed if request.seed is not None else secrets.randbits(31)
        completion = batcher().submit(prompt, sampling, seed)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model_name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.text},
                    "finish_reason": completion.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
                "total_tokens": completion.prompt_tokens + completion.completion_tokens,
            },
        }

    return app


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
) -> None:
    """Load ``model_path`` (see ``load_model``) and serve it until interrupted (blocking)."""
    model, tokenizer = load_model(model_path, device=device, dtype=dtype)
    app = create_app(model, tokenizer, model_name=model_path, batch_size=batch_size)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
