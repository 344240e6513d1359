"""`sftgen serve` under hostile input: body cap (413), context (400), max_tokens clamp, bounded queue (503),
reference agents served like models, and the server keeps answering after each."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from sftgen.models import serve as serve_module
from sftgen.models.batcher import MicroBatcher, Overloaded
from sftgen.models.sampling import Completion, Sampling
from sftgen.models.serve import BackgroundServer, ServeLimits, create_agent_app, create_app
from sftgen.splits import get_split

LIMITS = ServeLimits(max_body_bytes=64 * 1024, max_tokens=6, max_pending=8, context=48)
CHAT = [{"role": "user", "content": "Up"}]
ROUTE = "/v1/chat/completions"


@pytest.fixture(scope="module")
def server(peaky_model, tokenizer):
    app = create_app(peaky_model, tokenizer, model_name="tiny-test", batch_size=4, limits=LIMITS)
    with BackgroundServer(app) as running:
        yield running


def still_answers(url: str) -> None:
    response = httpx.post(url + ROUTE, json={"messages": CHAT, "max_tokens": 2, "seed": 1}, timeout=30)
    assert response.status_code == 200, response.text


def test_5mb_body_gets_413_and_the_server_keeps_answering(server):
    body = b'{"messages": [{"role": "user", "content": "' + b"x" * (5 << 20) + b'"}]}'
    try:
        response = httpx.post(server.url + ROUTE, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert "over the limit of 65536 bytes" in response.json()["detail"]
    except httpx.WriteError:  # the server may close before the client has sent everything: also a refusal
        pass
    still_answers(server.url)


def test_chunked_body_without_length_is_capped_too(server):
    def chunks():
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(64):
            yield b"x" * 4096

    try:
        response = httpx.post(server.url + ROUTE, content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413
    except httpx.WriteError:
        pass
    still_answers(server.url)


def test_huge_max_tokens_is_clamped_at_once(server):
    started = time.monotonic()
    body = {"messages": CHAT, "max_tokens": 10**9, "seed": 2}
    response = httpx.post(server.url + ROUTE, json=body, timeout=30)
    assert response.status_code == 200
    assert response.json()["usage"]["completion_tokens"] <= LIMITS.max_tokens
    assert time.monotonic() - started < 10


def test_prompt_over_the_context_is_400_with_both_numbers(server):
    body = {"messages": [{"role": "user", "content": "Up Down " * 200}]}
    response = httpx.post(server.url + ROUTE, json=body, timeout=30)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "tokens; the model's context is 48 tokens" in detail and "the prompt is" in detail
    still_answers(server.url)


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 422),
        (b'{"messages": []}', 422),
        (b'{"messages": [{"role": "user", "content": "Up"}], "max_tokens": 0}', 400),
        (b'{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}', 400),
    ],
    ids=["malformed", "no-messages", "max-tokens-0", "image-part"],
)
def test_malformed_requests_are_4xx_and_harmless(server, content, status):
    response = httpx.post(server.url + ROUTE, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status
    still_answers(server.url)


class _SlowBackend:
    """A backend that answers only when released, so the queue can be filled on purpose."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def complete_ids(self, prompts: list[list[int]], sampling: Sampling, seeds: list[int]) -> list[Completion]:
        self.entered.set()
        self.release.wait(30)
        return [Completion("Up", "stop", len(p), 1) for p in prompts]


def test_batcher_refuses_past_max_pending_and_recovers():
    backend = _SlowBackend()
    batcher = MicroBatcher(backend, max_batch=1, max_wait_s=0, max_pending=2)  # type: ignore[arg-type]
    try:
        first = batcher.submit_future([1], Sampling(), 0)
        second = batcher.submit_future([1], Sampling(), 1)
        with pytest.raises(Overloaded, match="limit 2"):
            batcher.submit_future([1], Sampling(), 2)
        backend.release.set()
        assert first.result(10).text == second.result(10).text == "Up"
        assert batcher.submit([1], Sampling(), 3).text == "Up" and batcher.pending == 0
    finally:
        backend.release.set()
        batcher.close()


def test_full_queue_is_503_with_retry_after(monkeypatch, peaky_model, tokenizer):
    slow = _SlowBackend()
    real = serve_module.HFBackend

    class Held(real):  # type: ignore[misc, valid-type]
        def complete_ids(self, prompts, sampling, seeds=None):
            slow.complete_ids(prompts, sampling, seeds)
            return super().complete_ids(prompts, sampling, seeds)

    monkeypatch.setattr(serve_module, "HFBackend", Held)
    limits = ServeLimits(max_pending=1, max_tokens=2)
    app = create_app(peaky_model, tokenizer, batch_size=1, max_wait_s=0, limits=limits)
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        body = {"messages": CHAT, "seed": 1}
        holder = threading.Thread(target=client.post, args=(ROUTE,), kwargs={"json": body})
        holder.start()
        assert slow.entered.wait(30)
        busy = client.post(ROUTE, json=body)
        slow.release.set()
        holder.join(30)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert "server busy" in busy.json()["detail"]
        assert client.post(ROUTE, json=body).status_code == 200


@pytest.fixture(scope="module")
def oracle_server():
    with BackgroundServer(create_agent_app("oracle")) as running:
        yield running


@pytest.mark.parametrize("split", ["sokoban/id", "points/id"])
def test_oracle_agent_is_served_like_a_model(oracle_server, split):
    from sftgen.agents import oracle_answer

    env = get_split(split).instance(0).make_env()
    body = {"messages": env.observation(), "seed": 0}
    data = httpx.post(oracle_server.url + ROUTE, json=body, timeout=30).json()
    assert data["model"] == "oracle"
    assert data["choices"][0]["message"]["content"] == oracle_answer(env)


def test_agent_refuses_a_prompt_it_cannot_read(oracle_server):
    response = httpx.post(oracle_server.url + ROUTE, json={"messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 400 and "oracle agent cannot read this prompt" in response.json()["detail"]
    assert httpx.get(oracle_server.url + "/v1/models").json()["data"][0]["id"] == "oracle"


def test_unknown_agent_and_bad_limits_are_refused():
    with pytest.raises(ValueError, match="unknown agent"):
        create_agent_app("genius")
    with pytest.raises(ValueError, match="max_body_bytes must be >= 1"):
        ServeLimits(max_body_bytes=0)
