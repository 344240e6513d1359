"""Generation through any OpenAI-compatible ``/v1/chat/completions`` server (vLLM, SGLang, llama.cpp, ours).

Why failures raise instead of returning "": an unreachable or broken server would otherwise score as a model
that answers nothing, i.e. a silent 0 in a results table. Transient failures (connection errors, timeouts,
429, 5xx) are retried with exponential backoff; anything still failing raises ``BackendError``. A completion
the server did return is passed on as-is, even when empty: judging it is the verifier's job.

The response fields read are those of the OpenAI chat-completions shape as vLLM's server returns them
(``tests/models/fixtures/vllm_chat_completions.json`` records them): ``choices[i].message.content`` of the
choice whose ``index`` is 0, its ``finish_reason`` (``stop`` / ``length``) and ``usage``. A server started with
a reasoning parser moves the text between ``<think>`` and ``</think>`` into ``message.reasoning_content`` (vLLM
before 0.10) or ``message.reasoning``; the tags and that text are put back in front of ``content``, so the
verifier sees what the model wrote, as with the in-process backends.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from sftgen.models.sampling import BackendError, Chat, Completion, Sampling, row_seed, validate_chats

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def api_base(base_url: str) -> str:
    """``http://host:port`` or ``http://host:port/v1`` -> ``http://host:port/v1`` (no trailing slash)."""
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
    base = base_url.rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


class OpenAIBackend:
    """``generate(chats, sampling)`` over HTTP, at most ``concurrency`` requests in flight."""

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.base = api_base(base_url)
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(headers=headers, timeout=timeout, limits=limits)
        self._jitter = random.Random(0)
        self._jitter_lock = threading.Lock()
        self.model = model or self._only_model()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def generate(self, chats: list[Chat], sampling: Sampling) -> list[str]:
        """One answer per chat, in order; raises ``BackendError`` if any request fails for good."""
        return [c.text for c in self.complete(chats, sampling)]

    def complete(self, chats: list[Chat], sampling: Sampling, seeds: Sequence[int] | None = None) -> list[Completion]:
        """Like ``generate`` with finish reasons and token counts (from ``usage``); ``seeds`` gives each chat's
        sampling seed (default ``row_seed(sampling.seed, i)``), as ``HFBackend.complete`` does, so evaluation
        through a server draws the same per-episode seeds as in process."""
        validate_chats(chats)
        if seeds is not None and len(seeds) != len(chats):
            raise ValueError(f"got {len(seeds)} seeds for {len(chats)} chats")
        payloads = [
            self.payload(chat, sampling, i, seed=None if seeds is None else seeds[i]) for i, chat in enumerate(chats)
        ]
        if len(payloads) <= 1 or self.concurrency == 1:
            return [self._complete(p) for p in payloads]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(payloads))) as pool:
            futures = [pool.submit(self._complete, p) for p in payloads]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    def payload(self, chat: Chat, sampling: Sampling, index: int, seed: int | None = None) -> dict[str, Any]:
        """The request body for row ``index`` (its seed is ``seed``, else ``row_seed`` as in process)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in chat],
            "max_tokens": sampling.max_new_tokens,
            "n": 1,
        }
        if sampling.is_greedy:
            body["temperature"] = 0.0
        else:
            body["temperature"] = sampling.temperature
            body["top_p"] = sampling.top_p
            body["seed"] = row_seed(sampling.seed, index) if seed is None else seed
        return body

    def _complete(self, body: dict[str, Any]) -> Completion:
        data = self._request("POST", "/chat/completions", body)
        return parse_completion(data, f"{self.base}/chat/completions")

    def _only_model(self) -> str:
        data = self._request("GET", "/models", None)
        ids = [m.get("id") for m in data.get("data", []) if isinstance(m, dict)]
        if len(ids) != 1 or not isinstance(ids[0], str):
            raise BackendError(f"{self.base}/models lists {ids!r}: pass model= to choose one")
        return ids[0]

    def _sleep_before_retry(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.max_backoff, self.backoff * 2**attempt)
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date instead of seconds: keep our own delay
                delay = min(self.max_backoff, max(delay, float(retry_after)))
        with self._jitter_lock:
            delay *= 1.0 + 0.25 * self._jitter.random()
        time.sleep(delay)

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        url = self.base + path
        problem = ""
        retry_after: str | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._sleep_before_retry(attempt - 1, retry_after)
                retry_after = None
            try:
                response = self._client.request(method, url, json=body)
            except httpx.TransportError as err:  # connection refused/reset, timeouts, protocol errors
                problem = f"{type(err).__name__}: {err}"
                continue
            if response.status_code in RETRY_STATUS:
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
                retry_after = response.headers.get("retry-after")
                continue
            if response.status_code >= 400:
                status = response.status_code
                raise BackendError(f"{method} {url} failed with HTTP {status}: {response.text[:500]}")
            try:
                data = response.json()
            except ValueError as err:
                raise BackendError(f"{method} {url} returned non-JSON: {response.text[:300]!r}") from err
            if not isinstance(data, dict):
                raise BackendError(f"{method} {url} returned {type(data).__name__}, expected a JSON object")
            return data
        attempts = self.max_retries + 1
        raise BackendError(f"{method} {url} failed after {attempts} attempts; last error: {problem}")


def parse_completion(data: dict[str, Any], where: str = "the server") -> Completion:
    """The answer of a chat-completions response: choice 0's text, finish reason and the token counts.

    ``finish_reason`` ``length`` is kept (the answer was cut at ``max_tokens``); every other reason (``stop``,
    vLLM's ``abort``, a tool call) counts as ``stop``. ``usage`` may be missing (some servers): counts are then 0.
    """
    try:
        choices = data["choices"]
        choice = next((c for c in choices if c.get("index") == 0), choices[0])
        message = choice["message"]
        content = message.get("content")
    except (KeyError, IndexError, TypeError, AttributeError) as err:
        raise BackendError(f"{where} has no choices[0].message: {data!r:.300}") from err
    text = "" if content is None else str(content)
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        text = f"<think>{reasoning}</think>{text}"
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Completion(
        text=text,
        finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )
