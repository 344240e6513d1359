"""LoRA through PEFT: only adapter weights train; the merged final model equals base + scale * B @ A."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import rows, write_rows

from sftgen.train.callbacks import read_model_info
from sftgen.train.config import LoraSettings, SFTRunConfig
from sftgen.train.sft import train


def lora_run(data: str, out, model: str = "tiny", **changes) -> SFTRunConfig:
    settings = {
        "model": model,
        "data": [data],
        "out": str(out),
        "lr": 1e-2,
        "max_steps": 3,
        "batch_size": 4,
        "save_steps": 3,
        "logging_steps": 1,
        "progress": False,
        "lora": LoraSettings(enabled=True, r=4, alpha=8.0, dropout=0.0),
        **changes,
    }
    return SFTRunConfig(**settings)


def test_lora_changes_only_adapter_weights(small_data, tmp_path, tiny_tokenizer):
    from sftgen.models.tiny import build_tiny_model

    result = train(lora_run(small_data, tmp_path / "run"))
    assert result.global_step == 3
    record = result.record["model"]
    assert 0 < record["trainable_parameters"] < record["parameters"] / 5

    adapter = load_file(str(tmp_path / "run" / "adapter" / "adapter_model.safetensors"))
    lora_b = {k: v for k, v in adapter.items() if "lora_B" in k}
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b.values())  # B starts at zero: it trained

    initial = build_tiny_model("tiny", tiny_tokenizer, seed=0).state_dict()
    merged = load_file(str(result.final_dir / "model.safetensors"))
    assert set(merged) <= set(initial)
    adapted = 0
    for name, weight in merged.items():
        prefix = name.removesuffix(".weight")
        a_key = next((k for k in adapter if k.endswith(f"{prefix}.lora_A.weight")), None)
        if a_key is None:  # embeddings, norms, the output head: untouched by LoRA training
            torch.testing.assert_close(weight, initial[name], rtol=0, atol=0)
            continue
        b = adapter[a_key.replace("lora_A", "lora_B")]
        delta = (8.0 / 4) * b @ adapter[a_key]
        torch.testing.assert_close(weight - initial[name], delta, rtol=1e-4, atol=1e-6)
        adapted += 1
    assert adapted == 4 * 7  # every linear layer of the 4 blocks (q, k, v, o, gate, up, down)

    info = read_model_info(result.final_dir)
    assert info["lora"] and info["lora_merged"] and info["template"] == "compact"
    checkpoint = tmp_path / "run" / "checkpoint-3"
    assert (checkpoint / "adapter_model.safetensors").is_file() and read_model_info(checkpoint)["lora"]


@pytest.mark.slow
def test_lora_sft_on_smollm2_runs_and_saves(tmp_path):
    from sftgen.models.loading import load_model

    data = write_rows(tmp_path / "data", rows(1, template="study")[:4], template="study")
    config = lora_run(data, tmp_path / "run", model="smollm2-135m", max_steps=2, batch_size=2, save_steps=2, lr=1e-4)
    config = config.with_overrides({"lora.target_modules": ["q_proj", "v_proj"], "max_length": 1024})
    result = train(config)
    assert result.global_step == 2 and result.final_loss is not None
    adapter = load_file(str(tmp_path / "run" / "adapter" / "adapter_model.safetensors"))
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in adapter.items())
    assert read_model_info(result.final_dir)["template"] == "study"
    model, tokenizer = load_model(str(result.final_dir), device="cpu")
    assert model.config.model_type == "llama" and tokenizer.chat_template


def test_a_lora_checkpoint_loads_as_its_base_with_the_adapter_merged(small_data, tmp_path, tiny_tokenizer):
    """Sweeps evaluate mid-training LoRA checkpoints, which hold only adapter weights."""
    from sftgen.models.loading import load_model
    from sftgen.models.tiny import build_tiny_model

    base = tmp_path / "base"
    build_tiny_model("tiny", tiny_tokenizer, seed=0).save_pretrained(base)
    tiny_tokenizer.save_pretrained(base)
    result = train(lora_run(small_data, tmp_path / "run", model=str(base)))
    checkpoint, _ = load_model(str(tmp_path / "run" / "checkpoint-3"), device="cpu")
    final, _ = load_model(str(result.final_dir), device="cpu")
    for (name, weight), (_, expected) in zip(checkpoint.state_dict().items(), final.state_dict().items(), strict=True):
        torch.testing.assert_close(weight, expected, rtol=1e-5, atol=1e-6, msg=name)
