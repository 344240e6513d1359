"""General Points solver and hands: checked against brute forces written independently of the solver."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from functools import cache

import numpy as np
import pytest

from sftgen.tasks.points import (
    TARGET,
    FaceMap,
    Hand,
    card_label,
    generate_hand,
    is_solvable,
    one_solution,
    solve,
    verify,
)
from sftgen.tasks.points.expr import combine, leaf, render
from sftgen.tasks.points.formula import parse_formula
from sftgen.tasks.points.study import float_rejected

ALL_FOUR = list(itertools.combinations_with_replacement(range(1, 14), 4))


def _answer(formula: str) -> str:
    return json.dumps({"formula": formula})


# ------------------------------------------------------------------ independent brute forces


def _combos(a: Fraction, b: Fraction) -> list[Fraction]:
    out = [a + b, a - b, b - a, a * b]
    if b:
        out.append(a / b)
    if a:
        out.append(b / a)
    return out


@cache
def _pairwise(ms: tuple[Fraction, ...], target: Fraction) -> bool:
    """Classic reduction: replace any two numbers by one result of an operation, until one number is left."""
    if len(ms) == 1:
        return ms[0] == target
    for i, j in itertools.combinations(range(len(ms)), 2):
        rest = ms[:i] + ms[i + 1 : j] + ms[j + 1 :]
        for r in _combos(ms[i], ms[j]):
            if _pairwise(tuple(sorted((*rest, r))), target):
                return True
    return False


def brute_solvable(values: tuple[int, ...], target: int = TARGET) -> bool:
    return _pairwise(tuple(sorted(Fraction(v) for v in values)), Fraction(target))


Op = Callable[[Fraction, Fraction], Fraction | None]
OPS: dict[str, Op] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else None,
}


def _apply(op: str, a: Fraction | None, b: Fraction | None) -> Fraction | None:
    return None if a is None or b is None else OPS[op](a, b)


def naive_trees(values: tuple[int, ...]) -> list[tuple[str, Fraction]]:
    """Every permutation x operator choice x the 5 tree shapes of four numbers, fully parenthesised."""
    out = []
    for a, b, c, d in set(itertools.permutations(values)):
        fa, fb, fc, fd = (Fraction(v) for v in (a, b, c, d))
        for o1, o2, o3 in itertools.product("+-*/", repeat=3):
            shapes = [
                (f"(({a}{o1}{b}){o2}{c}){o3}{d}", _apply(o3, _apply(o2, _apply(o1, fa, fb), fc), fd)),
                (f"({a}{o1}({b}{o2}{c})){o3}{d}", _apply(o3, _apply(o1, fa, _apply(o2, fb, fc)), fd)),
                (f"({a}{o1}{b}){o2}({c}{o3}{d})", _apply(o2, _apply(o1, fa, fb), _apply(o3, fc, fd))),
                (f"{a}{o1}(({b}{o2}{c}){o3}{d})", _apply(o1, fa, _apply(o3, _apply(o2, fb, fc), fd))),
                (f"{a}{o1}({b}{o2}({c}{o3}{d}))", _apply(o1, fa, _apply(o2, fb, _apply(o3, fc, fd)))),
            ]
            out.extend((text, value) for text, value in shapes if value is not None)
    return out


def canonical(tree: tuple) -> tuple:
    """Canonical node of a parsed formula tree (normalises commutativity/associativity like the solver)."""
    if tree[0] == "num":
        return leaf(int(tree[1]))
    return combine(tree[0], canonical(tree[1]), canonical(tree[2]))


# ------------------------------------------------------------------ solver vs brute force


def test_is_solvable_matches_pairwise_brute_force_on_all_1820_hands() -> None:
    got = {ms: is_solvable(ms) for ms in ALL_FOUR}
    assert got == {ms: brute_solvable(ms) for ms in ALL_FOUR}
    assert sum(got.values()) == 1362  # the well-known count of solvable 4-card multisets of 1..13


def test_solve_and_one_solution_agree_and_every_formula_verifies_on_all_1820_hands() -> None:
    for ms in ALL_FOUR:
        formulas = solve(ms)
        assert bool(formulas) == is_solvable(ms)
        assert (one_solution(ms) is not None) == bool(formulas)
        assert len(set(formulas)) == len(formulas)
        for formula in [*formulas, *([one_solution(ms)] if formulas else [])]:
            outcome = verify(_answer(formula), ms)
            assert outcome.success, (ms, formula, outcome)


@pytest.mark.parametrize("ms", [*ALL_FOUR[::23], (3, 3, 8, 8), (1, 5, 5, 5), (3, 3, 7, 7), (1, 1, 1, 1)])
def test_naive_trees_subset(ms: tuple[int, ...]) -> None:
    """Permutations x operators x shapes agree on solvability, and every solution is in solve()'s list."""
    trees = naive_trees(ms)
    hits = [text for text, value in trees if value == TARGET]
    assert bool(hits) == is_solvable(ms)
    listed = set(solve(ms))
    for text in hits:
        assert render(canonical(parse_formula(text))) in listed, text
    # nothing listed twice under the canonical notion, and nothing listed that the brute force lacks
    hit_forms = {canonical(parse_formula(text)) for text in hits}
    listed_forms = {canonical(parse_formula(text)) for text in listed}
    assert listed_forms == hit_forms and len(listed_forms) == len(listed)


@pytest.mark.slow
def test_naive_trees_all_1820() -> None:
    for ms in ALL_FOUR:
        assert any(value == TARGET for _, value in naive_trees(ms)) == is_solvable(ms), ms


def test_known_facts() -> None:
    assert not is_solvable((1, 1, 1, 1)) and solve((1, 1, 1, 1)) == [] and one_solution((1, 1, 1, 1)) is None
    assert solve((3, 3, 8, 8)) == ["8/(3-8/3)"]
    assert one_solution((8, 3, 8, 3)) == "8/(3-8/3)"
    assert "4*3+10+2" in solve((4, 3, 2, 10))
    assert solve([]) == [] and not is_solvable([])
    assert solve([24]) == ["24"] and is_solvable([24])


def test_five_and_six_card_hands() -> None:
    six = (13, 12, 11, 10, 9, 8)
    assert is_solvable(six)
    assert verify(_answer(one_solution(six) or ""), six).success
    assert not is_solvable((1, 1, 1, 1, 1, 1)) and not is_solvable((1, 1, 1, 1, 1, 2))
    five = (2, 3, 4, 5, 6)
    formulas = solve(five)
    assert formulas and all(verify(_answer(f), five).success for f in formulas)
    assert is_solvable((1, 1, 1, 1, 1, 1, 3, 8))  # 7+ cards still work (slower, not a supported preset)


@pytest.mark.parametrize("seed", range(6))
def test_small_values_zero_and_other_targets_match_brute_force(seed: int) -> None:
    """Zero values and target 0 exercise the solver's 'any value' paths; all against the brute force."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(2, 6))
        values = tuple(int(v) for v in rng.integers(0, 7, size=n))
        target = int(rng.choice([0, 1, 2, 5, 24]))
        expected = brute_solvable(values, target)
        assert is_solvable(values, target) == expected, (values, target)
        found = one_solution(values, target)
        assert (found is not None) == expected
        if found is not None:
            assert verify(_answer(found), values, target).success
        if n <= 4:
            formulas = solve(values, target)
            assert bool(formulas) == expected
            assert all(verify(_answer(f), values, target).success for f in formulas)


def test_six_cards_with_zeros_stay_consistent() -> None:
    rng = np.random.default_rng(7)
    for _ in range(15):
        values = tuple(int(v) for v in rng.integers(0, 5, size=6))
        target = int(rng.choice([0, 24]))
        found = one_solution(values, target)
        assert (found is not None) == is_solvable(values, target)
        if found is not None:
            assert verify(_answer(found), values, target).success


def test_solver_rejects_non_integers() -> None:
    with pytest.raises(TypeError):
        is_solvable([1.5, 2, 3, 4])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        is_solvable([Fraction(1, 2), 2, 3, 4])  # type: ignore[list-item]


# ------------------------------------------------------------------ cards, face maps, hands


def test_card_labels() -> None:
    assert [card_label(r) for r in range(1, 20)] == (
        ["A", *map(str, range(2, 11)), "J", "Q", "K", *map(str, range(14, 20))]
    )
    for bad in (0, 20, -1):
        with pytest.raises(ValueError):
            card_label(bad)


def test_face_map_messages_names_and_values() -> None:
    ten = FaceMap.uniform(10)
    assert ten.message() == "'J', 'Q', and 'K' all count as '10'"
    assert FaceMap(11, 12, 13).message() == "'J' counts as '11', 'Q' counts as '12', and 'K' counts as '13'"
    assert FaceMap.uniform(5).message() == "'J', 'Q', and 'K' all count as '5'"
    assert ten.name == "all_10" and FaceMap(11, 12, 13).name == "11-12-13" and FaceMap(7, 9, 11).name == "7-9-11"
    assert ten.is_uniform and not FaceMap(8, 9, 10).is_uniform
    for name in ("all_5", "all_12", "11-12-13", "5-7-9"):
        assert FaceMap.parse(name).name == name
    assert FaceMap.parse("all_7") == FaceMap.uniform(7)
    assert [FaceMap(11, 12, 13).value(r) for r in (1, 10, 11, 12, 13, 17)] == [1, 10, 11, 12, 13, 17]
    assert [ten.value(r) for r in (11, 12, 13)] == [10, 10, 10]
    for bad in ("all", "10", "1-2", "all_x"):
        with pytest.raises(ValueError):
            FaceMap.parse(bad)
    with pytest.raises(ValueError):
        FaceMap(0, 1, 2)


def test_hand_identity_labels_and_values() -> None:
    hand = Hand((1, 7, 12, 3))
    assert hand.key() == "A,7,Q,3" and hand.labels() == ["A", "7", "Q", "3"]
    assert hand.values() == (1, 7, 10, 3) and hand.values(FaceMap(11, 12, 13)) == (1, 7, 12, 3)
    assert Hand(tuple(np.array([1, 7, 12, 3]))) == hand  # numpy ints normalised
    with pytest.raises(ValueError):
        Hand((1, 20))


def _hands(seed: int, count: int, **kwargs: object) -> list[Hand]:
    rng = np.random.default_rng(seed)
    return [generate_hand(rng, **kwargs) for _ in range(count)]  # type: ignore[arg-type]


def test_generate_hand_is_deterministic_for_a_seed() -> None:
    assert _hands(3, 30) == _hands(3, 30)
    assert _hands(3, 30) != _hands(4, 30)
    assert _hands(5, 5, num_cards=6, large=True) == _hands(5, 5, num_cards=6, large=True)


@pytest.mark.parametrize("face_map", ["all_10", "all_5", "all_12", "11-12-13", "5-7-9"])
def test_hands_are_solvable_under_the_scored_map_and_have_a_face(face_map: str) -> None:
    scored = FaceMap.parse(face_map)
    for hand in _hands(11, 60, scored_map=scored):
        assert hand.num_cards == 4 and hand.has_face and not hand.has_large
        assert brute_solvable(hand.values(scored))


def test_require_face_false_allows_faceless_hands() -> None:
    hands = _hands(12, 200, require_face=False)
    assert any(not h.has_face for h in hands) and any(h.has_face for h in hands)
    assert all(brute_solvable(h.values()) for h in hands)
    assert set(itertools.chain.from_iterable(h.ranks for h in hands)) == set(range(1, 14))


def test_large_hands_have_exactly_one_large_card() -> None:
    hands = _hands(13, 80, large=True, require_face=False)
    for hand in hands:
        assert sum(r >= 14 for r in hand.ranks) == 1
        assert all(1 <= r <= 19 for r in hand.ranks)
        assert brute_solvable(hand.values())
    assert {r for h in hands for r in h.ranks if r >= 14} == set(range(14, 20))
    assert all(h.has_face for h in _hands(14, 20, large=True))


@pytest.mark.parametrize("num_cards", [5, 6])
def test_five_and_six_card_hands_are_solvable(num_cards: int) -> None:
    for hand in _hands(15, 25, num_cards=num_cards):
        assert hand.num_cards == num_cards and hand.has_face
        found = one_solution(hand.values())
        assert found is not None and verify(_answer(found), hand.values()).success


def test_dealt_cards_are_roughly_uniform() -> None:
    counts = Counter(r for h in _hands(16, 400, require_face=False) for r in h.ranks)
    assert min(counts[r] for r in range(1, 14)) > 40  # 1,600 cards / 13 ranks ~ 123 each


def test_study_float_check_rejects_exact_answers() -> None:
    assert float_rejected("8/(3-8/3)")  # 23.999... in floats
    assert not float_rejected("4*6") and not float_rejected("(10+6-8)*3")
    assert not float_rejected("1/0") and not float_rejected("not a formula") and not float_rejected(None)
