"""The OpenAI and vLLM backends against vLLM's contract: a recorded OpenAI-server transcript and `sftgen serve`.

The transcript (fixtures/vllm_chat_completions.json) holds vLLM's request and response shapes: finish_reason stop
and length, stop_reason as a token id, n>1 choices listed out of order, logprobs null, usage, reasoning-parser fields
(reasoning_content before vLLM 0.10, reasoning after), /v1/models, error bodies. A stub replays it over HTTP; the
in-process vLLM backend is checked against a stand-in of the `vllm` module with the same objects' fields.
"""

from __future__ import annotations

import json
import sys
import threading
import types
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sftgen.models.backends import VLLMBackend
from sftgen.models.hf_backend import HFBackend
from sftgen.models.openai_backend import OpenAIBackend, parse_completion
from sftgen.models.sampling import BackendError, Completion, Sampling
from sftgen.models.serve import BackgroundServer, create_app

TRANSCRIPT = json.loads((Path(__file__).parent / "fixtures" / "vllm_chat_completions.json").read_text())
# vllm/entrypoints/openai/protocol.py ChatCompletionRequest: the fields sftgen sends must be among them
VLLM_REQUEST_FIELDS = {
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "temperature",
    "top_p",
    "seed",
    "stop",
    "stream",
    "logprobs",
    "top_logprobs",
    "frequency_penalty",
    "presence_penalty",
}
EXCHANGES = TRANSCRIPT["exchanges"]


def sampling_of(request: dict) -> tuple[Sampling, list[int] | None]:
    """The sftgen sampling (and per-chat seeds) that should produce ``request``."""
    if request["temperature"] == 0.0:
        return Sampling(greedy=True, max_new_tokens=request["max_tokens"]), None
    sampling = Sampling(
        temperature=request["temperature"], top_p=request["top_p"], max_new_tokens=request["max_tokens"]
    )
    return sampling, [request["seed"]]


def replay_app(exchange: dict | None = None, errors: list[tuple[int, dict]] | None = None):
    """/v1/models from the transcript; /v1/chat/completions answers ``errors`` in turn, then the exchange."""
    app, received, lock = FastAPI(), [], threading.Lock()
    pending = list(errors or [])

    @app.get("/v1/models")
    def models() -> dict:
        return TRANSCRIPT["models"]["response"]

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> JSONResponse:
        body = await request.json()
        with lock:
            received.append(body)
            if pending:
                status, error = pending.pop(0)
                return JSONResponse(error, status_code=status)
        return JSONResponse(exchange["response"])

    return app, received


@pytest.mark.parametrize("exchange", EXCHANGES, ids=[e["name"] for e in EXCHANGES])
def test_responses_parse_to_the_recorded_answer(exchange):
    assert parse_completion(exchange["response"]) == Completion(**exchange["expect"])


@pytest.mark.parametrize("exchange", [e for e in EXCHANGES if e["request"]["n"] == 1], ids=lambda e: e["name"])
def test_requests_are_the_recorded_ones_and_answers_come_back_over_http(exchange):
    app, received = replay_app(exchange)
    sampling, seeds = sampling_of(exchange["request"])
    with BackgroundServer(app) as stub, OpenAIBackend(stub.url, backoff=0.01) as backend:
        assert backend.model == "Qwen/Qwen2.5-7B"  # the only model /v1/models lists
        [completion] = backend.complete([exchange["request"]["messages"]], sampling, seeds=seeds)
        assert backend.generate([exchange["request"]["messages"]], sampling) == [exchange["expect"]["text"]]
    assert completion == Completion(**exchange["expect"])
    assert received[0] == exchange["request"]  # exactly what vLLM was sent: n=1, no logprobs, seed only if sampled
    assert set(received[0]) <= VLLM_REQUEST_FIELDS


@pytest.mark.parametrize("error", TRANSCRIPT["errors"][:2], ids=lambda e: e["name"])
def test_a_client_error_is_raised_at_once_with_the_servers_message(error):
    app, received = replay_app(EXCHANGES[0], errors=[(error["status"], error["response"])])
    with (
        BackgroundServer(app) as stub,
        OpenAIBackend(stub.url, backoff=0.01) as backend,
        pytest.raises(BackendError, match=r"HTTP 400.*maximum context length is 32768"),
    ):
        backend.complete([[{"role": "user", "content": "hi"}]], Sampling(greedy=True, max_new_tokens=4))
    assert len(received) == 1  # not retried


def test_an_overloaded_server_is_retried():
    error = TRANSCRIPT["errors"][2]
    app, received = replay_app(EXCHANGES[0], errors=[(error["status"], error["response"])] * 2)
    with BackgroundServer(app) as stub, OpenAIBackend(stub.url, backoff=0.01) as backend:
        answer = backend.complete([[{"role": "user", "content": "hi"}]], Sampling(greedy=True, max_new_tokens=4))
    assert answer[0].text == EXCHANGES[0]["expect"]["text"] and len(received) == 3


def test_sftgen_serve_speaks_the_same_shape(peaky_model, tokenizer, chats):
    """Every field a vLLM client reads is in `sftgen serve`'s answers, and complete() through it (finish reasons,
    token counts, per-chat seeds) equals the in-process backend's."""
    local = HFBackend(peaky_model, tokenizer, batch_size=2)
    with (
        BackgroundServer(create_app(peaky_model, tokenizer, model_name="tiny-test", batch_size=4)) as server,
        OpenAIBackend(server.url, concurrency=4, backoff=0.01) as client,
    ):
        import httpx

        body = {"model": "tiny-test", **{k: v for k, v in EXCHANGES[0]["request"].items() if k != "model"}}
        data = httpx.post(server.url + "/v1/chat/completions", json=body).json()
        vllm = EXCHANGES[0]["response"]
        assert set(data) <= set(vllm) and set(data["usage"]) <= set(vllm["usage"])
        assert set(data["choices"][0]) <= set(vllm["choices"][0])
        assert set(data["choices"][0]["message"]) <= set(vllm["choices"][0]["message"])
        for sampling, seeds in (
            (Sampling(greedy=True, max_new_tokens=6), None),
            (Sampling(temperature=0.9, top_p=0.95, max_new_tokens=6), [11, 12, 13, 14, 15]),
            (Sampling(greedy=True, max_new_tokens=1), None),  # cut: finish_reason length
        ):
            remote = client.complete(chats, sampling, seeds=seeds)
            assert remote == local.complete(chats, sampling, seeds=seeds)
        assert {c.finish_reason for c in remote} == {"length"}


class FakeVLLM(types.ModuleType):
    """The part of `vllm` the backend touches: SamplingParams(**kw) and LLM(model).chat(...) -> RequestOutputs."""

    def __init__(self, answers: list[tuple[str, str, int]]) -> None:
        super().__init__("vllm")
        self.calls: list[dict] = []
        answers_ = answers
        calls = self.calls

        class SamplingParams:
            def __init__(self, **kw):
                self.kw = kw

        class LLM:
            def __init__(self, model, **engine):
                self.model, self.engine = model, engine

            def chat(self, messages, sampling_params, add_generation_prompt, use_tqdm):
                calls.append(
                    {
                        "messages": messages,
                        "params": [p.kw for p in sampling_params],
                        "add_generation_prompt": add_generation_prompt,
                    }
                )
                outputs = []
                for text, finish, n_tokens in answers_[: len(messages)]:
                    sample = types.SimpleNamespace(
                        index=0,
                        text=text,
                        token_ids=list(range(n_tokens)),
                        cumulative_logprob=None,
                        logprobs=None,
                        finish_reason=finish,
                        stop_reason=None,
                    )
                    outputs.append(
                        types.SimpleNamespace(
                            request_id="0",
                            prompt="...",
                            prompt_token_ids=[1] * 300,
                            prompt_logprobs=None,
                            outputs=[sample],
                            finished=True,
                        )
                    )
                return outputs

        self.SamplingParams, self.LLM = SamplingParams, LLM


def test_vllm_backend_requests_one_sample_per_chat_and_reads_finish_reasons(monkeypatch):
    fake = FakeVLLM([("<answer> Left </answer>", "stop", 7), ("<answer> Ri", "length", 4)])
    monkeypatch.setitem(sys.modules, "vllm", fake)
    backend = VLLMBackend("/models/qwen", tensor_parallel_size=1)
    chats = [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]]
    greedy = backend.complete(chats, Sampling(greedy=True, max_new_tokens=4))
    assert greedy == [
        Completion("<answer> Left </answer>", "stop", 300, 7),
        Completion("<answer> Ri", "length", 300, 4),
    ]
    assert fake.calls[0]["params"] == [{"temperature": 0.0, "max_tokens": 4}] * 2  # n=1, no logprobs, no seed
    assert fake.calls[0]["add_generation_prompt"] is True and fake.calls[0]["messages"] == chats
    sampled = Sampling(temperature=0.5, top_p=1.0, max_new_tokens=4, seed=3)
    backend.complete(chats, sampled, seeds=[21, 22])
    assert [p["seed"] for p in fake.calls[1]["params"]] == [21, 22]
    assert backend.generate(chats, sampled) == ["<answer> Left </answer>", "<answer> Ri"]
    seeds = [p["seed"] for p in fake.calls[2]["params"]]
    assert len(set(seeds)) == 2 and all("logprobs" not in p and "n" not in p for p in fake.calls[2]["params"])
