"""The copy-head tiny model: a proper distribution, cached decoding equal to uncached, padding ignored, round trip."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from sftgen.models.copy_head import CopyHeadForCausalLM, with_copy_head
from sftgen.models.tiny import build_tiny_model
from sftgen.train.modeling import tiny_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def model(tokenizer):
    return build_tiny_model("tiny-copy", tokenizer, seed=0).eval()


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text)["input_ids"]


def test_preset_builds_a_copy_head_model(model):
    assert isinstance(model, CopyHeadForCausalLM)
    assert model.config.model_type == "sftgen_copy_llama"


def test_logits_are_a_normalised_log_distribution(model, tokenizer):
    ids = torch.tensor([_ids(tokenizer, "actions:up=fox,down=horse board: # # P")])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    assert torch.allclose(logits.exp().sum(-1), torch.ones(logits.shape[:2]), atol=1e-4)


def test_a_closed_gate_puts_all_mass_on_context_tokens(tokenizer):
    model = build_tiny_model("tiny-copy", tokenizer, seed=1).eval()
    with torch.no_grad():
        model.copy_gate.bias.fill_(-40.0)  # vocabulary share ~ 0: only the pointer speaks
    ids = _ids(tokenizer, "actions:up=fox,down=horse")
    with torch.no_grad():
        probabilities = model(input_ids=torch.tensor([ids])).logits[0, -1].exp()
    assert probabilities[sorted(set(ids))].sum() > 0.999


def test_cached_generation_equals_uncached_and_padding_is_ignored(model, tokenizer):
    prompt = _ids(tokenizer, "actions:up=fox,down=horse,left=1,right=A board: # _ P X")
    short = prompt[3:]
    width = len(prompt)
    ids = torch.full((2, width), tokenizer.pad_token_id)
    mask = torch.zeros((2, width), dtype=torch.long)
    ids[0], mask[0] = torch.tensor(prompt), 1
    ids[1, width - len(short) :], mask[1, width - len(short) :] = torch.tensor(short), 1
    outputs = [
        model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=6,
            do_sample=False,
            use_cache=cache,
            pad_token_id=tokenizer.pad_token_id,
        )
        for cache in (True, False)
    ]
    assert torch.equal(outputs[0], outputs[1])
    alone = model.generate(
        input_ids=torch.tensor([short]), max_new_tokens=6, do_sample=False, pad_token_id=tokenizer.pad_token_id
    )
    assert outputs[0][1, width:].tolist() == alone[0, len(short) :].tolist()


def test_loss_is_the_cross_entropy_of_the_mixture(model, tokenizer):
    ids = torch.tensor([_ids(tokenizer, "actions:up=fox,down=horse answer fox")])
    with torch.no_grad():
        output = model(input_ids=ids, labels=ids)
    expected = -output.logits[0, :-1].gather(-1, ids[0, 1:, None]).mean()
    assert output.loss.item() == pytest.approx(expected.item(), rel=1e-4)


def test_save_and_load_round_trip(model, tokenizer, tmp_path):
    model.save_pretrained(tmp_path)
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    ids = torch.tensor([_ids(tokenizer, "actions:up=fox board: #")])
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=ids).logits, model(input_ids=ids).logits)


def test_with_copy_head_keeps_the_llama_weights(tokenizer):
    plain = build_tiny_model("tiny", tokenizer, seed=0).eval()
    extended = with_copy_head(plain, gate_bias=40.0).eval()  # gate ~ 1: the vocabulary path alone
    ids = torch.tensor([_ids(tokenizer, "actions:up=fox board: #")])
    with torch.no_grad():
        expected = torch.log_softmax(plain(input_ids=ids).logits, -1)
        assert torch.allclose(extended(input_ids=ids).logits, expected, atol=1e-4)


def test_trl_fused_calls_score_the_mixture(tokenizer):
    from trl.trainer.utils import add_fused_lm_head

    from sftgen.models.copy_head import speak_trl_fused_head

    model = build_tiny_model("tiny-copy", tokenizer, seed=2).eval()
    ids = torch.tensor([_ids(tokenizer, "actions:up=fox,down=horse answer fox")])
    labels = ids.clone()
    labels[0, :4] = -100
    with torch.no_grad():
        expected = model(input_ids=ids, labels=labels).loss
        add_fused_lm_head(model)  # what TRL's trainers do: lm_head alone, which misses the pointer
        assert model(input_ids=ids, labels=labels, fused_lm_head=True).loss.item() != pytest.approx(expected.item())
        speak_trl_fused_head(model)
        fused = model(input_ids=ids, labels=labels, fused_lm_head=True)
        assert fused.loss.item() == pytest.approx(expected.item(), rel=1e-5)
        assert fused.label_mask.sum().item() == (labels[0, 1:] != -100).sum().item()
        assert model(input_ids=ids, labels=labels).loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_attention_dropout_reaches_the_pointer_in_training_only(tokenizer):
    """The pointer is an attention too: an SFT run's ``attention_dropout`` drops it out alike, and never in eval."""
    from sftgen.train.modeling import set_attention_dropout

    model = build_tiny_model("tiny-copy", tokenizer, seed=1)
    with torch.no_grad():
        model.copy_gate.bias.fill_(-40.0)  # only the pointer speaks, so its dropout shows in the output
    model, _ = set_attention_dropout(model, None, 0.5)
    for layer in model.model.layers:  # keep the backbone exact: what varies is the pointer alone
        layer.self_attn.attention_dropout = 0.0
    ids = torch.tensor([_ids(tokenizer, "actions:up=fox,down=horse,left=cat,right=dog")])
    with torch.no_grad():
        torch.manual_seed(0)
        dropped = [model.train()(input_ids=ids).logits for _ in range(2)]
        kept = [model.eval()(input_ids=ids).logits for _ in range(2)]
    assert not torch.allclose(dropped[0], dropped[1])
    assert torch.equal(kept[0], kept[1])
