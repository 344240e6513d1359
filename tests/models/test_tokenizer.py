"""The local tokenizer: lossless, one token per action word, TRL-ready chat template, save/load."""

from __future__ import annotations

import random

import pytest
from transformers import AutoTokenizer

from sftgen.models.tokenizer import SPECIAL_TOKENS, build_tokenizer, unknown_pieces

UNSEEN = "Ünseen wörds, 🚀 rocket 👍🏽 and 123456 x\r\n\t\t  end\u00a0"


def test_round_trip_is_exact_on_the_corpus(tokenizer, corpus):
    for text in corpus:
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert tokenizer.decode(ids) == text


def test_grid_whitespace_runs_are_single_tokens(tokenizer, sokoban_prompts):
    tokens = tokenizer.tokenize(sokoban_prompts["base"])
    assert " \t " in tokens and " \t\n " in tokens  # between cells / at the end of a row
    assert "<unk>" not in tokens


def test_unseen_text_degrades_to_characters_and_bytes(tokenizer):
    ids = tokenizer.encode(UNSEEN, add_special_tokens=False)
    assert tokenizer.decode(ids) == UNSEEN
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.tokenize("Xylophone") == list("Xylophone")  # unseen word -> its characters
    assert "<0xF0>" in tokenizer.tokenize("🚀")  # unseen character -> its UTF-8 bytes
    assert unknown_pieces(tokenizer, "Push Xylophone") == ["Xylophone"]


def test_without_byte_fallback_unseen_characters_become_unk(corpus):
    tok = build_tokenizer(corpus, byte_fallback=False)
    assert tok.unk_token_id in tok.encode("🚀", add_special_tokens=False)
    assert len(tok) == len(build_tokenizer(corpus)) - 256


def test_every_action_word_is_one_token_alone_and_in_context(tokenizer, action_words, sokoban_prompts):
    for word in action_words:
        ids = tokenizer.encode(word, add_special_tokens=False)
        assert len(ids) == 1, (word, tokenizer.convert_ids_to_tokens(ids))
        assert ids[0] in tokenizer.encode(f"<answer> {word} </answer>", add_special_tokens=False)
    emoji_ids = tokenizer.encode(sokoban_prompts["emoji"], add_special_tokens=False)
    assert tokenizer.convert_tokens_to_ids("⬆️") in emoji_ids


def test_extra_tokens_spanning_several_pieces_become_one_token(corpus):
    tok = build_tokenizer(corpus, extra_tokens=["<answer>", "w1", "Answers"])
    assert tok.tokenize("<answer> w1 </answer>") == ["<answer>", " ", "w1", " ", "<", "/", "answer", ">"]
    assert len(tok.encode("Answers", add_special_tokens=False)) == 1


def test_split_digits_option(corpus, gp_texts):
    tok = build_tokenizer(corpus, split_digits=True)
    assert tok.tokenize("4*3+2+10") == ["4", "*", "3", "+", "2", "+", "1", "0"]
    assert tok.decode(tok.encode(gp_texts[1], add_special_tokens=False)) == gp_texts[1]


def test_vocabulary_does_not_depend_on_corpus_order(corpus, tokenizer, action_words):
    shuffled = list(corpus)
    random.Random(1).shuffle(shuffled)
    assert build_tokenizer(shuffled, reversed(action_words)).get_vocab() == tokenizer.get_vocab()


def test_special_tokens(tokenizer):
    assert tokenizer.convert_ids_to_tokens(list(range(len(SPECIAL_TOKENS)))) == list(SPECIAL_TOKENS)
    assert (tokenizer.pad_token, tokenizer.unk_token) == ("<pad>", "<unk>")
    assert (tokenizer.bos_token, tokenizer.eos_token) == ("<bos>", "<eos>")
    assert tokenizer.padding_side == "left"
    assert tokenizer.decode(tokenizer.encode("<|user|>Up<eos>"), skip_special_tokens=True) == "Up"


def test_chat_template_renders_with_generation_prompt(tokenizer):
    chat = [{"role": "system", "content": "S"}, {"role": "user", "content": "Decide"}]
    text = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert text == "<bos><|system|>S<|end|><|user|>Decide<|end|><|assistant|>"
    full = [*chat, {"role": "assistant", "content": "<answer> Up </answer>"}]
    rendered = tokenizer.apply_chat_template(full, tokenize=False)
    assert rendered.endswith("<|assistant|><answer> Up </answer><eos>")
    with pytest.raises(Exception, match="unsupported chat role"):
        tokenizer.apply_chat_template([{"role": "tool", "content": "x"}], tokenize=False)


def test_assistant_mask_covers_exactly_the_answers_and_eos(tokenizer, sokoban_prompts, gp_texts):
    chat = [
        {"role": "user", "content": sokoban_prompts["numerical"]},
        {"role": "assistant", "content": "<answer> 1 </answer>"},
        {"role": "user", "content": gp_texts[0]},
        {"role": "assistant", "content": gp_texts[1]},
    ]
    out = tokenizer.apply_chat_template(chat, return_assistant_tokens_mask=True, return_dict=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    assert len(ids) == len(mask)
    kept = [i for i, m in zip(ids, mask, strict=True) if m]
    expected = tokenizer.encode(f"<answer> 1 </answer><eos>{gp_texts[1]}<eos>", add_special_tokens=False)
    assert kept == expected
    assert sum(mask) == len(expected)


def test_save_and_auto_tokenizer_load_round_trip(tmp_path, tokenizer, corpus, sokoban_prompts):
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    assert loaded.chat_template == tokenizer.chat_template
    assert loaded.get_vocab() == tokenizer.get_vocab()
    assert loaded.all_special_tokens == tokenizer.all_special_tokens
    assert loaded.padding_side == "left"
    for text in [*corpus, UNSEEN]:
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert loaded.encode(text, add_special_tokens=False) == ids
        assert loaded.decode(ids) == text
    chat = [{"role": "user", "content": sokoban_prompts["random"]}, {"role": "assistant", "content": "M"}]
    a = tokenizer.apply_chat_template(chat, return_assistant_tokens_mask=True, return_dict=True)
    b = loaded.apply_chat_template(chat, return_assistant_tokens_mask=True, return_dict=True)
    assert a["input_ids"] == b["input_ids"] and a["assistant_masks"] == b["assistant_masks"]


def test_empty_extra_token_is_rejected(corpus):
    with pytest.raises(ValueError, match="empty"):
        build_tokenizer(corpus, extra_tokens=[""])
