"""Evaluation throughput: batched multi-turn rollouts vs one episode at a time, on the same tiny model.

Run with ``sftgen bench eval [--quick] [--json FILE]``. Ours is the full ``sftgen.eval.evaluate`` (records
written and fsynced, metrics computed); the peer is the loop one writes first: for each episode, for each
turn, ``model.generate`` on one prompt. Same random-init tiny Llama, same episodes, greedy decoding, 12 new
tokens a turn, so the random model never solves anything and every Sokoban episode runs its 30 turns.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from sftgen.eval.evaluate import evaluate
from sftgen.eval.records import episodes_path, read_records
from sftgen.models.hf_backend import HFBackend, stop_token_ids
from sftgen.models.sampling import Sampling
from sftgen.models.tiny import build_tiny_model, count_parameters
from sftgen.models.tokenizer import build_tokenizer
from sftgen.splits import get_split
from sftgen.vocabulary import forced_tokens, tokenizer_corpus

MAX_NEW_TOKENS = 12


def _one_at_a_time(model, tokenizer, instances, template: str) -> dict[str, list[str]]:
    """The peer: one episode after another, one ``model.generate`` call (batch 1) per turn."""
    stops = stop_token_ids(model, tokenizer)
    texts: dict[str, list[str]] = {}
    for inst in instances:
        env, done, answers = inst.make_env(template), False, []
        while not done:
            ids = tokenizer.apply_chat_template(env.observation(), add_generation_prompt=True, return_tensors="pt")
            ids = ids if isinstance(ids, torch.Tensor) else ids["input_ids"]
            with torch.inference_mode():
                out = model.generate(
                    ids,
                    max_new_tokens=MAX_NEW_TOKENS,
                    do_sample=False,
                    eos_token_id=stops,
                    pad_token_id=tokenizer.pad_token_id,
                )
            text = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
            answers.append(text)
            _, _, terminated, truncated, _ = env.step(text)
            done = terminated or truncated
        texts[inst.id] = answers
    return texts


def _ours(split: str, template: str, episodes: int, model, tokenizer, memoize: bool) -> tuple[float, dict, dict]:
    """Seconds, metrics and texts of the full ``evaluate`` (records written, metrics computed)."""
    sampling = Sampling(greedy=True, max_new_tokens=MAX_NEW_TOKENS)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        metrics = evaluate(
            "tiny-random",
            [split],
            Path(tmp),
            n=episodes,
            sampling=sampling,
            template=template,
            memoize=memoize,
            backend=HFBackend(model, tokenizer, batch_size=64),
        )
        seconds = time.perf_counter() - start
        texts = {r["instance_id"]: [t["response"] for t in r["turns"]] for r in read_records(episodes_path(tmp, split))}
    return seconds, metrics, texts


def _rows(split: str, template: str, episodes: int, model, tokenizer) -> list[dict]:
    start = time.perf_counter()
    peer = _one_at_a_time(model, tokenizer, get_split(split).with_size(episodes).instances(), template)
    peer_s = time.perf_counter() - start
    rows = []
    for memoize, label in ((True, "batched + greedy memo (default)"), (False, "batched only")):
        ours_s, metrics, texts = _ours(split, template, episodes, model, tokenizer, memoize)
        turns = metrics["splits"][split]["mean_turns"]
        same = sum(texts[k] == v for k, v in peer.items())
        config = metrics["config"]
        rows.append(
            {
                "name": f"{split} episodes/s, {label} ({template}, {episodes} episodes x {turns:.0f} turns)",
                "ours_per_s": episodes / ours_s,
                "peer": "one episode at a time, model.generate batch 1",
                "peer_per_s": episodes / peer_s,
                "ratio": peer_s / ours_s,
                "note": f"ours {ours_s:.1f} s, peer {peer_s:.1f} s; identical texts in {same}/{episodes} episodes; "
                f"{config['generate_calls']} generate calls, {config['reused_turns']} turns reused",
            }
        )
    return rows


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    tokenizer = build_tokenizer(tokenizer_corpus(), forced_tokens())
    model = build_tiny_model("tiny", tokenizer, seed=0).eval()
    rows = _rows("sokoban/id", "compact", 16 if quick else 64, model, tokenizer)
    if not quick:
        rows += _rows("sokoban/id", "study", 32, model, tokenizer)
    params = count_parameters(model)
    for row in rows:
        row["note"] += f"; {params / 1e6:.2f}M-parameter random Llama, 1 thread"
    return rows
