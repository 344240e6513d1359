"""Zero-shot checks of a base model: does it read a declared mapping it never saw?

The look-up probe declares each held-out evaluation vocabulary *in its exact evaluation order*
(1/2/3/4, A/B/C/D, */&/1/M, North/..., emoji), which the curriculum never declares, and scores the
fraction of queries answered with the declared word.
"""

from __future__ import annotations

import re

from sftgen.base.curriculum import lookup_prompt
from sftgen.models.sampling import Backend, Sampling
from sftgen.seeding import rng_for
from sftgen.tasks.sokoban import ACTIONS
from sftgen.variants import HELD_OUT_VOCABS, normalize_word

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def lookup_probe(backend: Backend, n: int = 50, seed: int = 0, queries: int = 1) -> dict[str, float]:
    """Accuracy per held-out vocabulary and overall, greedy."""
    chats, expected, names = [], [], []
    for vocab in HELD_OUT_VOCABS:
        for i in range(n):
            rng = rng_for("sftgen-base-probe", seed, vocab.name, i)
            asked = [ACTIONS[int(k)] for k in rng.integers(0, 4, size=queries)]
            chats.append([{"role": "user", "content": lookup_prompt(vocab.words, asked)}])
            expected.append([vocab.word_for(a) for a in asked])
            names.append(vocab.name)
    texts = backend.generate(chats, Sampling(greedy=True, max_new_tokens=24 * queries))
    scores: dict[str, list[float]] = {}
    for name, text, want in zip(names, texts, expected, strict=True):
        got = [normalize_word(m) for m in _ANSWER.findall(text)]
        hits = sum(g == normalize_word(w) for g, w in zip(got, want, strict=False))
        scores.setdefault(name, []).append(hits / len(want))
    result = {name: sum(v) / len(v) for name, v in scores.items()}
    result["overall"] = sum(result.values()) / len(result)
    return result
