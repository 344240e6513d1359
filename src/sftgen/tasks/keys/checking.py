"""Reading answers and the one keys verifier: evaluation, the env, RL rewards and agents all go through here.

The parser keeps the study's rule (the first ``<answer> ... </answer>`` is the answer) but finds it with two
``str.find`` calls on a bounded text, so hostile input (megabytes of opening tags) costs linear time; the usual
lazy regex rescans to the end of the text from every opening tag, which is quadratic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sftgen.tasks.grid import ActionVocab
from sftgen.tasks.protocol import Outcome

from .solver import optimal_first_actions
from .world import KeysState, Rules

MAX_TEXT_CHARS = 65_536
"""Longer responses are ``no_answer`` without being searched (a 4,096-token answer is ~16k characters)."""
MAX_ANSWER_CHARS = 256
OPEN, CLOSE = "<answer>", "</answer>"

NO_ANSWER, UNKNOWN_WORD, SUBOPTIMAL, OPTIMAL = "no_answer", "unknown_word", "suboptimal", "optimal"
OUTCOME_KINDS = (OPTIMAL, SUBOPTIMAL, UNKNOWN_WORD, NO_ANSWER)
STEP_REWARD = {OPTIMAL: 1.0, SUBOPTIMAL: 0.0, UNKNOWN_WORD: 0.0, NO_ANSWER: 0.0}
"""The study's per-state reward: 1 when the answer is an optimal move, else 0."""


def parse_answer(text: str) -> str | None:
    """The stripped content of the first ``<answer>...</answer>``; None if absent or the text is too long."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        return None
    start = text.find(OPEN)
    if start < 0:
        return None
    end = text.find(CLOSE, start + len(OPEN))
    return None if end < 0 else text[start + len(OPEN) : end].strip()


def read_action(text: str, words: ActionVocab) -> tuple[str | None, str | None]:
    """(answer, action): the answer committed to and the action it means under ``words`` (None: no such word)."""
    answer = parse_answer(text)
    if answer is None:
        return None, None
    if len(answer) > MAX_ANSWER_CHARS:
        return answer[:MAX_ANSWER_CHARS], None
    return answer, words.action_for(answer)


def check_data(state: KeysState, words: ActionVocab, rules: Rules) -> dict[str, Any]:
    """What :func:`verify` needs, as data: the state, the checked words and the checked rules."""
    return {"state": state.as_data(), "words": list(words.words), "rules": rules.as_data()}


def verify(text: str, check: Mapping[str, Any]) -> Outcome:
    """Score one answer in one state: optimal move, legal but not optimal, unknown word or no answer."""
    words = ActionVocab("checked", tuple(check["words"]), explained=True)  # type: ignore[arg-type]
    answer, action = read_action(text, words)
    if answer is None:
        return Outcome(NO_ANSWER, False, False, STEP_REWARD[NO_ANSWER], "no <answer> tag")
    if action is None:
        reason = f"{answer[:40]!r} is not one of {list(words.words)}"
        return Outcome(UNKNOWN_WORD, False, False, STEP_REWARD[UNKNOWN_WORD], reason, answer)
    state, rules = KeysState.from_data(check["state"]), Rules(**check["rules"])
    best = optimal_first_actions(state, rules)
    if action in best:
        return Outcome(OPTIMAL, True, True, STEP_REWARD[OPTIMAL], f"{action} starts an optimal plan", answer, action)
    reason = f"{action} is legal but the optimal first moves are {sorted(best)}"
    return Outcome(SUBOPTIMAL, True, False, STEP_REWARD[SUBOPTIMAL], reason, answer, action)
