"""Generation through any OpenAI-compatible ``/v1/chat/completions`` server (vLLM, SGLang, llama.cpp, ours).

Why failures raise instead of returning "": an unreachable or broken server would otherwise score as a model
that answers nothing, i.e. a silent 0 in a results table. Transient failures (connection errors, timeouts,
429, 5xx) are retried with exponential backoff; anything still failing raises ``BackendError``. A completion
the server did return is passed on as-is, even when empty: judging it is the verifier's job.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from sftgen.models.sampling import BackendError, Chat, Sampling, row_seed, validate_chats

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
        validate_chats(chats)
        payloads = [self.payload(chat, sampling, i) for i, chat in enumerate(chats)]
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

    def payload(self, chat: Chat, sampling: Sampling, index: int) -> dict[str, Any]:
        """The request body for row ``index`` (its seed is ``row_seed``, as in the in-process backends)."""
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
            body["seed"] = row_seed(sampling.seed, index)
        return body

    def _complete(self, body: dict[str, Any]) -> str:
        data = self._request("POST", "/chat/completions", body)
        try:
            content = data["choices"][0]["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError) as err:
            raise BackendError(f"{self.base}/chat/completions has no choices[0].message: {data!r:.300}") from err
        return "" if content is None else str(content)

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
