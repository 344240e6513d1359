"""HFBackend: batched greedy == one at a time, repeatable seeded sampling, stops, order, validation."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from sftgen.models.hf_backend import HFBackend, RowSampler
from sftgen.models.sampling import Backend, Sampling, row_seed

GREEDY = Sampling(greedy=True, max_new_tokens=12)
SAMPLED = Sampling(temperature=1.0, top_p=0.9, max_new_tokens=12, seed=11)


@pytest.fixture(scope="module")
def backend(peaky_model, tokenizer):
    return HFBackend(peaky_model, tokenizer, batch_size=3)


def test_is_a_backend(backend):
    assert isinstance(backend, Backend)


def test_batched_greedy_equals_one_at_a_time(backend, chats):
    batched = backend.generate(chats, GREEDY)
    single = [backend.generate([chat], GREEDY)[0] for chat in chats]
    assert batched == single
    assert len(set(batched)) > 1  # different prompts really give different answers


def test_greedy_is_argmax_of_a_plain_forward_pass(backend, tokenizer, peaky_model, chats):
    """Left padding is right: the first generated token equals the unpadded model's argmax."""
    completions = backend.complete(chats, dataclasses.replace(GREEDY, max_new_tokens=1))
    for chat, completion in zip(chats, completions, strict=True):
        ids = torch.tensor([backend.encode(chat)])
        with torch.no_grad():
            first = int(peaky_model(ids).logits[0, -1].argmax())
        expected = "" if first in backend.stop_ids else tokenizer.decode([first], skip_special_tokens=True)
        assert completion.text == expected


def test_sampling_repeats_for_a_seed_and_ignores_batch_size(backend, peaky_model, tokenizer, chats):
    first = backend.generate(chats, SAMPLED)
    assert backend.generate(chats, SAMPLED) == first
    assert HFBackend(peaky_model, tokenizer, batch_size=64).generate(chats, SAMPLED) == first
    assert backend.generate(chats, dataclasses.replace(SAMPLED, seed=12)) != first
    assert first != backend.generate(chats, GREEDY)


def test_explicit_row_seeds_match_call_seeds(backend, chats):
    seeds = [row_seed(SAMPLED.seed, i) for i in range(len(chats))]
    assert [c.text for c in backend.complete(chats, SAMPLED, seeds=seeds)] == backend.generate(chats, SAMPLED)
    # row 2 alone with its own row seed gives the same answer as inside the full call
    alone = backend.complete(chats[2:3], SAMPLED, seeds=seeds[2:3])[0].text
    assert alone == backend.generate(chats, SAMPLED)[2]


def test_temperature_zero_is_greedy(backend, chats):
    assert backend.generate(chats, Sampling(temperature=0.0, max_new_tokens=12, seed=5)) == backend.generate(
        chats, GREEDY
    )


def test_order_is_restored_across_length_sorted_batches(backend, chats):
    reordered = list(reversed(chats))
    assert backend.generate(reordered, GREEDY) == list(reversed(backend.generate(chats, GREEDY)))


def test_generation_stops_at_a_stop_token(peaky_model, tokenizer, chats):
    backend = HFBackend(peaky_model, tokenizer)
    free = backend.complete(chats[:1], GREEDY)[0]
    assert free.finish_reason == "length" and free.completion_tokens == GREEDY.max_new_tokens
    prompt = tokenizer.apply_chat_template(chats[0], add_generation_prompt=True, tokenize=True, return_dict=False)
    first_token = int(peaky_model(torch.tensor([prompt])).logits[0, -1].argmax())  # greedy's first pick
    backend.stop_ids = [*backend.stop_ids, first_token]  # pretend that token ends the turn
    stopped = backend.complete(chats[:1], GREEDY)[0]
    assert (stopped.text, stopped.finish_reason, stopped.completion_tokens) == ("", "stop", 1)


def _settled_after(chars: int):
    return lambda text: len(text) if len(text) >= chars else None


@pytest.mark.parametrize("sampling", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_a_row_stops_once_its_answer_is_settled_and_keeps_the_text_so_far(backend, chats, sampling):
    free = backend.complete(chats, sampling)
    rule = _settled_after(4)
    cut = backend.complete(chats, sampling, answer_end=rule)
    assert any(c.completion_tokens < f.completion_tokens for f, c in zip(free, cut, strict=True))
    for f, c in zip(free, cut, strict=True):
        assert f.text.startswith(c.text)
        if rule(f.text) is None:  # never settled: the answer is the free one
            assert c == f
        else:  # stopped at the first token that settled it
            assert c.finish_reason == "stop" and rule(c.text) is not None
            assert 0 < c.completion_tokens <= f.completion_tokens


def test_a_row_that_ended_before_its_answer_settled_is_untouched(peaky_model, tokenizer, chats):
    backend = HFBackend(peaky_model, tokenizer)
    prompt = tokenizer.apply_chat_template(chats[0], add_generation_prompt=True, tokenize=True, return_dict=False)
    first_token = int(peaky_model(torch.tensor([prompt])).logits[0, -1].argmax())
    backend.stop_ids = [*backend.stop_ids, first_token]  # the row ends on its first token
    stopped = backend.complete(chats[:1], GREEDY, answer_end=lambda text: 0)[0]
    assert (stopped.text, stopped.finish_reason, stopped.completion_tokens) == ("", "stop", 1)


def test_finish_strips_special_tokens_and_cuts_at_eos(backend, tokenizer):
    up, eos, pad = (tokenizer.convert_tokens_to_ids(t) for t in ("Up", "<eos>", "<pad>"))
    bos = tokenizer.bos_token_id
    done = backend._finish([bos, up, eos, up, pad], prompt_tokens=7)
    assert (done.text, done.finish_reason, done.completion_tokens, done.prompt_tokens) == ("Up", "stop", 3, 7)
    assert tokenizer.convert_tokens_to_ids("<|end|>") in backend.stop_ids


def test_row_sampler_respects_top_p_and_uniforms():
    scores = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]]))
    uniforms = torch.tensor([[0.99], [0.1]], dtype=torch.float64)
    ids = torch.zeros(2, 4, dtype=torch.long)  # prompt_len 4: step 0
    out = RowSampler(uniforms, prompt_len=4, temperature=1.0, top_p=0.6)(ids, scores)
    assert out.argmax(-1).tolist() == [1, 0]  # top-p 0.6 keeps {0, 1}: u=0.99 -> token 1, u=0.1 -> token 0
    out = RowSampler(uniforms, prompt_len=4, temperature=1.0, top_p=1.0)(ids, scores)
    assert out.argmax(-1).tolist() == [2, 0]
    assert torch.isinf(out).sum() == 4


def test_sampling_validation():
    for bad in (
        {"temperature": -0.1},
        {"temperature": float("nan")},
        {"top_p": 0.0},
        {"top_p": 1.5},
        {"max_new_tokens": 0},
        {"max_new_tokens": 2.5},
        {"seed": -1},
        {"greedy": "yes"},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Sampling(**bad)
    assert Sampling(greedy=True).is_greedy and Sampling(temperature=0).is_greedy and not Sampling().is_greedy


def test_bad_input(backend, chats):
    assert backend.generate([], GREEDY) == []
    with pytest.raises(ValueError, match="chat 1"):
        backend.generate([chats[0], [{"role": "user"}]], GREEDY)
    with pytest.raises(ValueError, match="seeds"):
        backend.complete(chats, SAMPLED, seeds=[1])
    with pytest.raises(ValueError, match="batch_size"):
        HFBackend(backend.model, backend.tokenizer, batch_size=0)
