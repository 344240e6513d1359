"""Fake backends for the evaluation tests (also imported by the kill/resume subprocess)."""

from __future__ import annotations

import random
import time

from sftgen.agents import ReferenceAgent
from sftgen.models.sampling import BackendError, Completion, Sampling
from sftgen.seeding import derive_seed


class HashAgent:
    """Deterministic per prompt but imperfect: mostly the oracle's answer, sometimes the shortcut's or junk.

    Its answers depend only on the prompt text, so batched, one-at-a-time, resumed and uninterrupted runs
    must all give identical records; the mix gives metrics strictly between 0 and 1.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.oracle = ReferenceAgent("oracle")
        self.shortcut = ReferenceAgent("shortcut")
        self.delay = delay
        self.calls: list[int] = []

    def answer(self, prompt: str) -> str:
        pick = derive_seed("hash-agent", prompt) % 10
        if pick < 6:
            return self.oracle.answer(prompt)
        if pick < 8:
            return self.shortcut.answer(prompt)
        return "I think the answer is probably left"

    def generate(self, chats: list, sampling: Sampling) -> list[str]:
        self.calls.append(len(chats))
        if self.delay:
            time.sleep(self.delay)
        return [self.answer(chat[-1]["content"]) for chat in chats]


class GarbageBackend:
    """Random unicode, empty strings and huge strings."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def one(self) -> str:
        kind = self.rng.randrange(3)
        if kind == 0:
            return ""
        if kind == 1:
            return "".join(chr(self.rng.randrange(1, 0x2FFFF)) for _ in range(self.rng.randrange(1, 300)))
        return "<answer" * 30_000 + "!" * 200_000

    def generate(self, chats: list, sampling: Sampling) -> list[str]:
        return [self.one() for _ in chats]


class FailingBackend(HashAgent):
    """Works for ``ok_calls`` calls, then fails like a server that stays down after its retries."""

    def __init__(self, ok_calls: int) -> None:
        super().__init__()
        self.ok_calls = ok_calls

    def generate(self, chats: list, sampling: Sampling) -> list[str]:
        if len(self.calls) >= self.ok_calls:
            raise BackendError("http://localhost:1/v1/chat/completions failed after 5 attempts")
        return super().generate(chats, sampling)


class SeededBackend:
    """Has ``complete(chats, sampling, seeds=...)``: each answer is a pure function of its row seed."""

    WORDS = ("Up", "Down", "Left", "Right", "North", "1")

    def __init__(self) -> None:
        self.seen_seeds: list[list[int]] = []

    def complete(self, chats: list, sampling: Sampling, seeds: list[int] | None = None) -> list[Completion]:
        assert seeds is not None and len(seeds) == len(chats)
        self.seen_seeds.append(list(seeds))
        texts = [f"<answer> {self.WORDS[random.Random(s).randrange(len(self.WORDS))]} </answer>" for s in seeds]
        return [Completion(t, "stop", 10, 5) for t in texts]

    def generate(self, chats: list, sampling: Sampling) -> list[str]:
        raise AssertionError("a backend with complete(seeds=) must be called through complete")


class RamblingBackend(HashAgent):
    """Writes the hash agent's answer, then ``Left Left`` to the token cap; with ``answer_end`` (its
    ``complete`` takes one, as ``HFBackend``'s does) it stops where the answer is settled, as decoding would."""

    RAMBLE = " Left" * 50

    def __init__(self) -> None:
        super().__init__()
        self.rules: list[object] = []

    def complete(self, chats: list, sampling: Sampling, seeds: list[int] | None = None, answer_end=None):
        self.rules.append(answer_end)
        out = []
        for text in (self.answer(chat[-1]["content"]) + self.RAMBLE for chat in chats):
            end = None if answer_end is None else answer_end(text)
            out.append(Completion(text, "length", 10, 60) if end is None else Completion(text[:end], "stop", 10, 5))
        return out
