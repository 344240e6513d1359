"""The real uvicorn server + OpenAIBackend on loopback: same answers as in-process; retries; errors."""

from __future__ import annotations

import threading

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from sftgen.models.backends import make_backend
from sftgen.models.hf_backend import HFBackend
from sftgen.models.openai_backend import OpenAIBackend, api_base
from sftgen.models.sampling import BackendError, Sampling
from sftgen.models.serve import BackgroundServer, create_app

GREEDY = Sampling(greedy=True, max_new_tokens=10)
SAMPLED = Sampling(temperature=0.8, top_p=0.95, max_new_tokens=10, seed=3)
OK_BODY = {"choices": [{"message": {"role": "assistant", "content": "Up"}, "finish_reason": "stop"}]}


@pytest.fixture(scope="module")
def server(peaky_model, tokenizer):
    app = create_app(peaky_model, tokenizer, model_name="tiny-test", batch_size=4)
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with OpenAIBackend(server.url, concurrency=4, backoff=0.01) as backend:
        yield backend


def test_models_endpoint_names_the_model(client):
    assert client.model == "tiny-test"


@pytest.mark.parametrize("sampling", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_server_answers_equal_in_process_answers(client, peaky_model, tokenizer, chats, sampling):
    local = HFBackend(peaky_model, tokenizer, batch_size=2).generate(chats, sampling)
    assert client.generate(chats, sampling) == local


def test_response_shape_and_usage(server, tokenizer):
    parts = [{"type": "text", "text": "Up"}]
    body = {"messages": [{"role": "user", "content": parts}], "max_tokens": 3, "seed": 1}
    data = httpx.post(server.url + "/v1/chat/completions", json=body).json()
    choice = data["choices"][0]
    assert data["object"] == "chat.completion" and data["model"] == "tiny-test"
    assert choice["message"]["role"] == "assistant" and isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in ("stop", "length")
    chat = [{"role": "user", "content": "Up"}]
    prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_dict=True)["input_ids"]
    prompt_len = len(prompt)
    usage = data["usage"]
    assert usage["prompt_tokens"] == prompt_len and 1 <= usage["completion_tokens"] <= 3
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        ({"n": 2}, "n=1"),
        ({"stream": True}, "stream"),
        ({"stop": ["x"]}, "stop"),
        ({"top_p": 0}, "top_p"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "unsupported chat role"),
    ],
)
def test_unsupported_requests_are_refused(server, extra, detail):
    body = {"messages": [{"role": "user", "content": "Up"}], **extra}
    response = httpx.post(server.url + "/v1/chat/completions", json=body)
    assert response.status_code == 400 and detail in response.json()["detail"]


def test_client_error_is_not_retried(client):
    with pytest.raises(BackendError, match=r"HTTP 400.*unsupported chat role"):
        client.generate([[{"role": "tool", "content": "x"}]], GREEDY)


def test_make_backend_dispatch(server, tmp_path, peaky_model, tokenizer):
    remote = make_backend(server.url + "/v1/", concurrency=2)
    assert isinstance(remote, OpenAIBackend) and remote.model == "tiny-test"
    remote.close()
    peaky_model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    local = make_backend(str(tmp_path), device="cpu", batch_size=8)
    assert isinstance(local, HFBackend) and local.batch_size == 8
    with pytest.raises(ImportError, match="vLLM"):
        make_backend("vllm:" + str(tmp_path))
    with pytest.raises(ValueError, match="empty"):
        make_backend(" ")


def test_api_base():
    assert api_base("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert api_base("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1"
    with pytest.raises(ValueError):
        api_base("ftp://127.0.0.1")


def flaky_app(failures: int, status: int = 500, body: dict | None = None) -> tuple[FastAPI, list[int]]:
    """Fails ``failures`` times with ``status``, then answers ``body`` (default: content "Up")."""
    app, calls, lock = FastAPI(), [0], threading.Lock()

    @app.get("/v1/models")
    def models() -> dict:
        return {"data": [{"id": "stub"}]}

    @app.post("/v1/chat/completions")
    def complete() -> JSONResponse:
        with lock:
            calls[0] += 1
            n = calls[0]
        if n <= failures:
            return JSONResponse({"error": "boom"}, status_code=status, headers={"Retry-After": "0"})
        return JSONResponse(OK_BODY if body is None else body)

    return app, calls


@pytest.mark.parametrize("status", [500, 429, 503])
def test_transient_failures_are_retried(status):
    app, calls = flaky_app(failures=2, status=status)
    with BackgroundServer(app) as stub, OpenAIBackend(stub.url, max_retries=4, backoff=0.01) as backend:
        assert backend.generate([[{"role": "user", "content": "hi"}]], GREEDY) == ["Up"]
    assert calls[0] == 3


def test_persistent_failure_raises_a_clear_error():
    app, calls = flaky_app(failures=10**6)
    with (
        BackgroundServer(app) as stub,
        OpenAIBackend(stub.url, max_retries=2, backoff=0.01) as backend,
        pytest.raises(BackendError, match=r"failed after 3 attempts; last error: HTTP 500"),
    ):
        backend.generate([[{"role": "user", "content": "hi"}]] * 3, GREEDY)
    assert calls[0] >= 3


def test_unreachable_server_raises_after_retries():
    with BackgroundServer(FastAPI()) as stub:
        url = stub.url  # a loopback port that is closed once the stub stops
    with pytest.raises(BackendError, match="ConnectError"):
        OpenAIBackend(url, model="m", max_retries=1, backoff=0.01, timeout=2).generate(
            [[{"role": "user", "content": "hi"}]], GREEDY
        )


def test_empty_completion_is_returned_as_is_but_missing_choices_is_an_error():
    empty = {"choices": [{"message": {"role": "assistant", "content": None}, "finish_reason": "stop"}]}
    app, _ = flaky_app(failures=0, body=empty)
    with BackgroundServer(app) as stub, OpenAIBackend(stub.url, backoff=0.01) as backend:
        assert backend.generate([[{"role": "user", "content": "hi"}]], GREEDY) == [""]
    app, _ = flaky_app(failures=0, body={"object": "error"})
    with (
        BackgroundServer(app) as stub,
        OpenAIBackend(stub.url, backoff=0.01) as backend,
        pytest.raises(BackendError, match="no choices"),
    ):
        backend.generate([[{"role": "user", "content": "hi"}]], GREEDY)


def test_payload_carries_sampling_settings():
    backend = OpenAIBackend.__new__(OpenAIBackend)
    backend.model = "m"
    chat = [{"role": "user", "content": "hi"}]
    sampled = backend.payload(chat, SAMPLED, 2)
    assert (sampled["temperature"], sampled["top_p"], sampled["max_tokens"]) == (0.8, 0.95, 10)
    assert sampled["seed"] == backend.payload(chat, SAMPLED, 2)["seed"]
    assert sampled["seed"] != backend.payload(chat, SAMPLED, 3)["seed"]
    greedy = backend.payload(chat, GREEDY, 0)
    assert greedy["temperature"] == 0.0 and "seed" not in greedy
