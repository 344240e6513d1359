"""A small, lossless tokenizer built locally from the tasks' own text.

Why not a pretrained tokenizer: a from-scratch model of ~1M parameters cannot afford a 50k-row vocabulary,
and the study's look-up ("the prompt declares ``1`` means Up") is only learnable by a tiny model when every
declared action word is *one* token it can copy. So the vocabulary is word level over the corpus the caller
passes (every template, paraphrase, vocabulary word and symbol), and nothing ever needs the hub.

How it works:

* a regex pre-tokenizer isolates letter runs (plus combining marks), digit runs, each whitespace run and
  each other character (plus its combining marks, so ``⬆️`` = U+2B06 U+FE0F stays together);
* the model is a BPE with *no merges* and ``ignore_merges=True``: a pre-token found in the vocabulary is one
  token; anything else falls back to single characters, and a character outside the vocabulary falls back to
  its UTF-8 bytes (``<0xE2>`` ...), so *every* string round-trips and ``<unk>`` never appears;
* the decoder turns byte tokens back into text and concatenates (``ByteFallback`` + ``Fuse``), so
  ``decode(encode(t)) == t`` exactly, whitespace included.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SYSTEM, USER, ASSISTANT, END = "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, BOS, EOS, SYSTEM, USER, ASSISTANT, END)

# Letters (with their combining marks) | digit runs | whitespace runs | any other char with its marks.
WORD_PATTERN = r"\p{L}[\p{L}\p{M}]*|\p{N}+|\s+|[^\p{L}\p{N}\s]\p{M}*"
DIGIT_PATTERN = r"\p{L}[\p{L}\p{M}]*|\p{N}|\s+|[^\p{L}\p{N}\s]\p{M}*"

# Non-assistant turns end with <|end|>; the assistant turn ends with EOS, and both its content and the EOS
# sit inside {% generation %} so TRL's ``assistant_only_loss`` trains on exactly the answer plus its stop.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>' }}{% generation %}{{ message['content'] }}{{ eos_token }}{% endgeneration %}"
    "{% elif message['role'] in ['system', 'user'] %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% else %}"
    "{{ raise_exception('unsupported chat role: ' + message['role']) }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)

BYTE_TOKENS: tuple[str, ...] = tuple(f"<0x{b:02X}>" for b in range(256))
# Printable ASCII is always present so unseen English words degrade into readable characters, not bytes.
BASE_CHARS: tuple[str, ...] = tuple(sorted(set(string.printable)))


def _pre_tokenizer(split_digits: bool) -> pre_tokenizers.PreTokenizer:
    pattern = DIGIT_PATTERN if split_digits else WORD_PATTERN
    return pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False)


def _pieces(pre: pre_tokenizers.PreTokenizer, text: str) -> list[str]:
    return [piece for piece, _ in pre.pre_tokenize_str(text)]


def build_tokenizer(
    texts: Iterable[str],
    extra_tokens: Iterable[str] = (),
    *,
    split_digits: bool = False,
    byte_fallback: bool = True,
) -> PreTrainedTokenizerFast:
    """Build a word-level, lossless tokenizer with chat tokens and a TRL-ready chat template.

    ``texts``: every text the model will see (templates, paraphrases, vocabularies, answers).
    ``extra_tokens``: strings that must be exactly one token (e.g. every action word of every variant).
    ``split_digits``: one token per digit instead of one per digit run (numbers then generalise to unseen
    values at the cost of longer sequences). ``byte_fallback``: 256 byte tokens so unseen characters still
    round-trip; without it an unseen character becomes ``<unk>``.
    """
    pre = _pre_tokenizer(split_digits)
    words: set[str] = set()
    chars: set[str] = set(BASE_CHARS)
    for text in texts:
        pieces = _pieces(pre, text)
        words.update(pieces)
        chars.update(text)
    added: list[str] = []
    for token in extra_tokens:
        if not token:
            raise ValueError("extra_tokens must not contain an empty string")
        chars.update(token)
        if _pieces(pre, token) == [token]:
            words.add(token)  # the pre-tokenizer already isolates it: a plain vocabulary entry suffices
        elif token not in added:
            added.append(token)  # spans several pre-tokens: must be matched before pre-tokenization

    vocab: dict[str, int] = {}
    for token in (*SPECIAL_TOKENS, *(BYTE_TOKENS if byte_fallback else ()), *sorted(chars), *sorted(words)):
        vocab.setdefault(token, len(vocab))
    for token in added:
        vocab.setdefault(token, len(vocab))

    backend = Tokenizer(
        models.BPE(vocab=vocab, merges=[], unk_token=UNK, byte_fallback=byte_fallback, ignore_merges=True)
    )
    backend.pre_tokenizer = pre
    backend.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    backend.add_tokens([AddedToken(t, normalized=False, single_word=False) for t in added])
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
        additional_special_tokens=[SYSTEM, USER, ASSISTANT, END],
        clean_up_tokenization_spaces=False,
        padding_side="left",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def unknown_pieces(tokenizer: PreTrainedTokenizerFast, text: str) -> list[str]:
    """Pre-tokens of ``text`` that are not whole vocabulary entries (they will be split into characters).

    Lets data builders check that their corpus really covers every prompt before training starts.
    """
    backend = tokenizer.backend_tokenizer
    assert backend.pre_tokenizer is not None
    vocab = backend.get_vocab()
    return [p for p in _pieces(backend.pre_tokenizer, text) if p not in vocab]
