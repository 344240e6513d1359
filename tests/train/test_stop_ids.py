"""A saved model's generation config stops at the chat template's end of turn, not only at the base model's EOS
(what vLLM reads; sftgen's own backend stops at either)."""

from __future__ import annotations

import json

from sftgen.train.callbacks import add_stop_ids, end_of_turn_ids


def test_the_end_of_turn_is_the_special_token_after_an_assistant_message(tiny_tokenizer):
    ids = end_of_turn_ids(tiny_tokenizer)
    text = tiny_tokenizer.apply_chat_template([{"role": "assistant", "content": "A"}], tokenize=False)
    assert len(ids) == 1 and text.split("A", 1)[1].startswith(tiny_tokenizer.convert_ids_to_tokens(ids[0]))


def test_stop_ids_are_added_once_to_the_eos_of_the_generation_config(tmp_path):
    path = tmp_path / "generation_config.json"
    path.write_text(json.dumps({"bos_token_id": 1, "eos_token_id": 0}))
    add_stop_ids(tmp_path, [2])
    add_stop_ids(tmp_path, [2])
    assert json.loads(path.read_text()) == {"bos_token_id": 1, "eos_token_id": [0, 2]}
    add_stop_ids(tmp_path / "missing", [2])  # a folder without a generation config is left alone
    assert not (tmp_path / "missing").exists()
