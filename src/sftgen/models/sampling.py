"""The one generation interface every model is evaluated through, and its sampling settings.

Why one interface: a tiny CPU model, an 8B model in vLLM and a remote server must produce comparable
numbers, so eval, GRPO rollouts and CoT rejection sampling only ever call ``generate(chats, sampling)``.

Seeding: row ``i`` of a call samples from a stream seeded by ``row_seed(sampling.seed, i)``, not from one
stream shared by a batch, so a sampled result does not depend on the batch size or on how rows were sorted
into batches (lm-eval 1645 / verl 1683: results that change with the batch size). A caller that samples the
same chats again (e.g. the next turn of an episode) should pass a new seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from sftgen.seeding import derive_seed

Chat = list[dict[str, str]]
FinishReason = Literal["stop", "length"]

_INT31 = 2**31 - 1


@dataclass(frozen=True)
class Sampling:
    """How to decode. ``greedy`` or ``temperature == 0`` means argmax (``top_p`` and ``seed`` then unused).

    Defaults are the study's evaluation settings (temperature 0.5, top-p 1.0, one sample).
    """

    temperature: float = 0.5
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0
    greedy: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Reject settings no backend can honour, naming the field."""
        if not math.isfinite(self.temperature) or self.temperature < 0:
            raise ValueError(f"Sampling.temperature must be a finite number >= 0, got {self.temperature!r}")
        if not math.isfinite(self.top_p) or not 0 < self.top_p <= 1:
            raise ValueError(f"Sampling.top_p must be in (0, 1], got {self.top_p!r}")
        if isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int):
            raise ValueError(f"Sampling.max_new_tokens must be an int, got {self.max_new_tokens!r}")
        if self.max_new_tokens < 1:
            raise ValueError(f"Sampling.max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"Sampling.seed must be an int >= 0, got {self.seed!r}")
        if not isinstance(self.greedy, bool):
            raise ValueError(f"Sampling.greedy must be a bool, got {self.greedy!r}")

    @property
    def is_greedy(self) -> bool:
        """True when decoding is argmax."""
        return self.greedy or self.temperature == 0


def row_seed(seed: int, index: int) -> int:
    """Seed of row ``index`` of a call made with ``seed`` (31 bits: every server accepts it)."""
    return derive_seed("sftgen.generate.row", seed, index) & _INT31


@dataclass(frozen=True)
class Completion:
    """One generated answer with what a server needs to report about it."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int


class BackendError(RuntimeError):
    """A backend could not produce an answer (after retries): never scored as a wrong answer."""


@runtime_checkable
class Backend(Protocol):
    """Anything that turns chats into assistant texts (new text only, special tokens stripped)."""

    def generate(self, chats: list[Chat], sampling: Sampling) -> list[str]:
        """One answer per chat, in the order given."""
        ...


def validate_chats(chats: list[Chat]) -> None:
    """Fail early, with the index, on a chat that is not a list of {'role', 'content'} string dicts."""
    if not isinstance(chats, list):
        raise TypeError(f"chats must be a list of chats, got {type(chats).__name__}")
    for i, chat in enumerate(chats):
        if not isinstance(chat, list) or not chat:
            raise ValueError(f"chat {i} must be a non-empty list of messages")
        for message in chat:
            if (
                not isinstance(message, dict)
                or not isinstance(message.get("role"), str)
                or not isinstance(message.get("content"), str)
            ):
                raise ValueError(f"chat {i}: a message must be {{'role': str, 'content': str}}, got {message!r}")
