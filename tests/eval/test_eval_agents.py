"""Reference agents and a garbage writer through the whole engine: the signatures the study relies on."""

from __future__ import annotations

from eval_fakes import GarbageBackend

from sftgen.eval.evaluate import evaluate
from sftgen.models.sampling import Sampling

HONEST = ["sokoban/id", "sokoban/numerical", "points/id", "points/all_5"]
FAKE = ["sokoban/fake_numerical", "points/fake"]
N = 6


def test_oracle_follows_the_declared_vocabulary(tmp_path):
    metrics = evaluate("oracle", HONEST + FAKE, tmp_path, n=N)["splits"]
    for name in HONEST:
        assert (metrics[name]["success"], metrics[name]["validity"], metrics[name]["n"]) == (1.0, 1.0, N), name
    for name in FAKE:
        assert metrics[name]["success"] == 0.0 and metrics[name]["validity"] == 0.0, name
    assert metrics["sokoban/fake_numerical"]["outcomes"]["unknown_word"] == 30 * N  # every turn spent, 30 turns
    assert metrics["points/fake"]["outcomes"]["wrong_numbers"] == N


def test_shortcut_is_the_reverse(tmp_path):
    metrics = evaluate("shortcut", HONEST + FAKE, tmp_path, n=N)["splits"]
    for name in ["sokoban/id", "points/id", *FAKE]:
        assert metrics[name]["success"] == 1.0 and metrics[name]["validity"] == 1.0, name
    for name in ["sokoban/numerical", "points/all_5"]:
        assert metrics[name]["success"] == 0.0 and metrics[name]["validity"] == 0.0, name
        assert metrics[name]["validity_study"] is None and metrics[name]["zero_valid_episodes"] == N


def test_garbage_scores_zero_without_crashing(tmp_path):
    splits = ["sokoban/id", "sokoban/emoji", "points/id", "points/five"]
    metrics = evaluate("garbage", splits, tmp_path, n=4, sampling=Sampling(greedy=True), backend=GarbageBackend())
    for name in splits:
        m = metrics["splits"][name]
        assert (m["success"], m["validity"], m["n"]) == (0.0, 0.0, 4), name
    sokoban = metrics["splits"]["sokoban/id"]
    assert sokoban["mean_turns"] == 30 and set(sokoban["outcomes"]) == {"valid", "unknown_word", "no_tag"}
    assert sokoban["outcomes"]["valid"] == 0 and sokoban["repeated_rate"] > 0  # the "!!!" strings are flagged
    assert metrics["splits"]["points/id"]["outcomes"]["correct"] == 0
