"""Zero-shot checks of a base model: does it read a declared mapping it never saw?

Both probes declare each held-out evaluation vocabulary *in its exact evaluation order* (1/2/3/4,
A/B/C/D, */&/1/M, North/..., emoji), which the curriculum never declares. The look-up probe scores
queries answered with the declared word; the navigation probe scores first moves that are optimal
*and* written in the declared word: the composite skill (a computed direction, then its declared
word) that SFT on Sokoban builds on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sftgen.base.curriculum import filler_grid, lookup_prompt, navigate_case
from sftgen.models.sampling import Backend, Sampling
from sftgen.prompts import compact_board
from sftgen.seeding import rng_for
from sftgen.tasks.grid import ACTIONS
from sftgen.tasks.protocol import get_task
from sftgen.variants import HELD_OUT_VOCABS, normalize_word

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def lookup_probe(backend: Backend, n: int = 50, seed: int = 0, queries: int = 1, far: bool = False) -> dict[str, float]:
    """Accuracy per held-out vocabulary and overall, greedy; ``far``: a grid between the map and the query, as a
    task's board sits between its map and its answer."""
    chats: list[list[dict]] = []
    expected: list[list[str]] = []
    names: list[str] = []
    for vocab in HELD_OUT_VOCABS:
        for i in range(n):
            rng = rng_for("sftgen-base-probe", seed, vocab.name, i)
            between = compact_board(filler_grid(rng)) if far else []
            asked = [ACTIONS[int(k)] for k in rng.integers(0, 4, size=queries)]
            chats.append([{"role": "user", "content": lookup_prompt(vocab.words, asked, between)}])
            expected.append([vocab.word_for(a) for a in asked])
            names.append(vocab.name)
    texts = backend.generate(chats, Sampling(greedy=True, max_new_tokens=24 * queries))
    scores: dict[str, list[float]] = {}
    for name, text, want in zip(names, texts, expected, strict=True):
        got = [normalize_word(m) for m in _ANSWER.findall(text)]
        hits = sum(g == normalize_word(w) for g, w in zip(got, want, strict=False))
        scores.setdefault(name, []).append(hits / len(want))
    return _summary(scores)


def navigate_probe(backend: Backend, n: int = 50, seed: int = 0) -> dict[str, float]:
    """Fraction of box-free grids whose first answer is the declared word of an optimal move, greedy."""
    chats: list[list[dict]] = []
    allowed: list[set[str]] = []
    names: list[str] = []
    for vocab in HELD_OUT_VOCABS:
        made = attempt = 0
        while made < n:
            case = navigate_case(rng_for("sftgen-base-navigate-probe", seed, vocab.name, attempt), vocab.words)
            attempt += 1
            if case is None:
                continue
            prompt, moves = case
            chats.append([{"role": "user", "content": prompt}])
            allowed.append({normalize_word(vocab.word_for(m)) for m in moves})
            names.append(vocab.name)
            made += 1
    texts = backend.generate(chats, Sampling(greedy=True, max_new_tokens=24))
    scores: dict[str, list[float]] = {}
    for name, text, ok in zip(names, texts, allowed, strict=True):
        got = _ANSWER.findall(text)
        scores.setdefault(name, []).append(float(bool(got) and normalize_word(got[0]) in ok))
    return _summary(scores)


def skill_probe(backend: Backend, tasks: Sequence[str], n: int = 100, seed: int = 0) -> dict[str, float]:
    """Per task in ``tasks``: the fraction of fresh ``Task.skill`` rows the model solves, greedy (the pre-trained
    skill a task presumes, e.g. General Points' arithmetic)."""
    chats: list[list[dict]] = []
    checks: list[tuple[str, Any]] = []
    for name in tasks:
        task = get_task(name)
        for i in range(n):
            skill = task.skill(rng_for("sftgen-base-skill-probe", seed, name, i))
            if skill is None:
                break
            chats.append([{"role": "user", "content": skill.prompt}])
            checks.append((name, skill.correct))
    texts = backend.generate(chats, Sampling(greedy=True, max_new_tokens=64)) if chats else []
    scores: dict[str, list[float]] = {}
    for (name, correct), text in zip(checks, texts, strict=True):
        scores.setdefault(name, []).append(float(correct(text)))
    return _summary(scores) if scores else {}


def _summary(scores: dict[str, list[float]]) -> dict[str, float]:
    result = {name: sum(v) / len(v) for name, v in scores.items()}
    result["overall"] = sum(result.values()) / len(result)
    return result


def lookup_ablation(model: Any, tokenizer: Any, n: int = 20, seed: int = 0, far: bool = False) -> dict[str, float]:
    """Overall look-up accuracy (``far``: the far probe) with one block's output zeroed at a time
    (``"3.self_attn"`` etc., plus ``"none"``): where the base's look-up circuit lives, so a fine-tune can keep
    exactly that part (``freeze``)."""
    from sftgen.models.hf_backend import HFBackend

    backend = HFBackend(model, tokenizer)
    result = {"none": lookup_probe(backend, n, seed, far=far)["overall"]}
    for index, layer in enumerate(model.model.layers):
        for part in ("self_attn", "mlp"):
            handle = getattr(layer, part).register_forward_hook(_zero_output)
            try:
                result[f"{index}.{part}"] = lookup_probe(backend, n, seed, far=far)["overall"]
            finally:
                handle.remove()
    return result


def _zero_output(module: Any, inputs: Any, output: Any) -> Any:
    """Forward hook: the block adds nothing to the residual stream (attention returns a tuple)."""
    import torch

    if isinstance(output, tuple):
        return (torch.zeros_like(output[0]), *output[1:])
    return torch.zeros_like(output)
