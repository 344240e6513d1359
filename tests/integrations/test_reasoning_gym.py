"""reasoning-gym adapter: registration, frozen splits, agreement with sftgen's verifier, and puzzle24's scorer."""

from __future__ import annotations

import random

import pytest

rg = pytest.importorskip("reasoning_gym", reason="reasoning-gym is not installed (pip install 'sftgen[reasoning-gym]')")

from integration_helpers import agreement_splits, sampled_answers  # noqa: E402
from reasoning_gym.games.puzzle24 import Puzzle24Config, Puzzle24Dataset  # noqa: E402
from reasoning_gym.utils import extract_answer  # noqa: E402

from sftgen.integrations import reasoning_gym as adapter  # noqa: E402
from sftgen.integrations.items import make_items, score, score_final_answer  # noqa: E402
from sftgen.splits import SPLITS, TASKS, get_split  # noqa: E402
from sftgen.tasks.protocol import task_names  # noqa: E402


def test_every_task_and_split_is_registered() -> None:
    names = adapter.registered_names()
    assert {"sftgen_sokoban_numerical", "sftgen_points_fake_all_5", "sftgen_keys_one_key"} <= set(names)
    assert {f"sftgen_{t}" for t in task_names()} <= set(names)
    assert len(names) == len(SPLITS) + len(TASKS)
    adapter.register_all()  # a second call is harmless
    for name in names:
        entry = rg.create_dataset(name, size=1)[0]
        assert entry["metadata"]["source_dataset"] == name
        assert rg.get_score_answer_fn(name)(entry["answer"], entry) == 1.0


def test_frozen_split_matches_sftgen_eval_instances() -> None:
    dataset = rg.create_dataset("sftgen_sokoban_numerical", size=5)
    split = get_split("sokoban/numerical")
    for i, entry in enumerate(dataset):
        instance = split.instance(i)
        assert entry["metadata"]["id"] == instance.id
        assert entry["question"] == instance.make_env().observation()[0]["content"]


def test_seed_draws_fresh_puzzles_and_variants_override() -> None:
    frozen = rg.create_dataset("sftgen_points", size=4)
    seeded = rg.create_dataset("sftgen_points", size=4, seed=7)
    again = rg.create_dataset("sftgen_points", size=4, seed=7)
    assert [e["question"] for e in seeded] == [e["question"] for e in again]
    assert [e["question"] for e in seeded] != [e["question"] for e in frozen]
    custom = rg.create_dataset("sftgen_points", variant="all_5", difficulty="five", size=2)
    entry = custom[0]
    assert len(entry["metadata"]["ground_truth"]["card_values"]) == 5
    assert "count as '5'" in entry["question"]
    with pytest.raises(ValueError, match="unknown points variant"):
        rg.create_dataset("sftgen_points", variant="all_99")


@pytest.mark.parametrize("task", task_names())
def test_score_answer_agrees_with_the_verifier_on_1000_answers_per_task(task: str) -> None:
    """reasoning-gym passes the text inside the last <answer> tag; its score must be the verifier's success."""
    rng, checked = random.Random(0), 0
    for split_name, size in agreement_splits(task, total=150):
        dataset = rg.create_dataset(adapter.stack_name(split_name), size=size)
        items = make_items(split_name, size)
        for entry, item in zip(dataset, items, strict=True):
            for response in sampled_answers(item, rng):
                wrapped = f"<think>...</think><answer>{response}</answer>"
                ours = score(wrapped, item.ground_truth)
                assert dataset.score_answer(extract_answer(wrapped), entry) == float(ours.success), response
                checked += 1
    assert checked >= 1000


# points/id#21: cards 9, 2, 4, J with J = 10; 9*4-10-2 = 24.
ADVERSARIAL = (
    ("correct (control)", "9*4-10-2"),
    ("a number not on the cards (8 for the J)", "8*(9-4-2)"),
    ("a card used twice (4), another left out (9)", "4*4+10-2"),
    ("result 24.5", "(10*4+9)/2"),
    ("division by zero", "9*4/(2-2)"),
    ("trailing '= 24'", "9*4-10-2=24"),
)


def scorer_comparison() -> list[tuple[str, str, float, float, str]]:
    """(case, answer, puzzle24 score, sftgen score, sftgen's outcome) for the adversarial answers."""
    item = make_items("points/id", 22)[21]
    assert item.ground_truth["card_values"] == [9, 2, 4, 10]
    puzzle24 = Puzzle24Dataset(Puzzle24Config(size=1, seed=0))
    entry = rg.create_dataset("sftgen_points_id", size=22)[21]
    ours = rg.get_score_answer_fn("sftgen_points_id")
    return [
        (
            case,
            answer,
            puzzle24.score_answer(answer, puzzle24[0]),
            ours(answer, entry),
            score_final_answer(answer, item.ground_truth).kind,
        )
        for case, answer in ADVERSARIAL
    ]


def test_puzzle24_scorer_credits_what_ours_rejects() -> None:
    rows = {case: (p24, ours, outcome) for case, _, p24, ours, outcome in scorer_comparison()}
    assert rows["correct (control)"][:2] == (1.0, 1.0)
    for case in ("a number not on the cards (8 for the J)", "a card used twice (4), another left out (9)"):
        assert rows[case] == (1.0, 0.0, "wrong_numbers")
    assert rows["result 24.5"] == (1.0, 0.0, "wrong_value")  # puzzle24 truncates 49/2 with int()
    assert rows["division by zero"] == (0.01, 0.0, "illegal_formula")  # sympy's zoo has no int: neither credits
    assert rows["trailing '= 24'"] == (0.01, 1.0, "correct")  # sympy cannot parse '=', ours drops what follows


if __name__ == "__main__":  # prints the table in docs/integrations.md
    print("| answer | case | reasoning-gym puzzle24 | sftgen | sftgen's outcome |")
    print("| --- | --- | --- | --- | --- |")
    for case, answer, p24, ours, outcome in scorer_comparison():
        print(f"| `{answer}` | {case} | {p24:g} | {ours:g} | {outcome} |")
