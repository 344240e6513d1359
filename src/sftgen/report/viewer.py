"""The episode viewer's data: a few episodes per split of each run's chosen checkpoint, small enough to embed.

Why this shape: the HTML page must work offline from one file, so episodes travel inside it as JSON. A
Sokoban turn's prompt is ~900 characters and a stuck episode repeats one prompt 30 times, so each turn keeps
only the board parsed from its prompt (``read_board`` handles both templates) and every string goes through
one shared table (boards, responses and reasons repeat a lot). Only the lowest seed of a method is embedded,
and at most ``per_split`` episodes per split; long responses are cut to ``MAX_RESPONSE_CHARS``.

Tasks other than the study's two are drawn from the states their records carry (``Task.play_text`` of the start
state and of the state after each turn), with no prompt parsing at all; the two study tasks keep their drawings.
"""

from __future__ import annotations

from typing import Any

from sftgen.agents import read_board, read_declared_words, read_hand
from sftgen.eval.records import read_records
from sftgen.report.aggregate import Key, ordered_splits
from sftgen.report.runs import RunEntry
from sftgen.tasks.protocol import get_task
from sftgen.tasks.sokoban import ACTIONS, Board

EPISODES_PER_SPLIT = 20
MAX_RESPONSE_CHARS = 2000


class StringTable:
    """Interns strings: the JSON holds each distinct text once and refers to it by index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, text: str | None) -> int:
        """Index of ``text`` (-1 for None)."""
        if text is None:
            return -1
        if text not in self._index:
            self._index[text] = len(self.items)
            self.items.append(text)
        return self._index[text]


def _clip(text: str, limit: int = MAX_RESPONSE_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text) - limit} more characters]"


def _board(prompt: str, cache: dict[str, Board | None]) -> Board | None:
    if prompt not in cache:
        try:
            cache[prompt] = read_board(prompt)
        except ValueError:
            cache[prompt] = None
    return cache[prompt]


def _rows(board: Board | None) -> str | None:
    return None if board is None else "\n".join(board.to_rows())


def _turn(turn: dict[str, Any], strings: StringTable) -> list[Any]:
    """[response, answer, action, valid, reward, reason, outcome, response_chars] (strings as indices)."""
    response = _clip(str(turn.get("response", "")))
    action = turn.get("action")
    return [
        strings.add(response),
        strings.add(None if turn.get("answer") is None else str(turn["answer"])),
        strings.add(None if action is None else str(action)),
        1 if turn.get("valid") else 0,
        float(turn.get("reward") or 0.0),
        strings.add(None if turn.get("reason") is None else str(turn["reason"])),
        strings.add(str(turn.get("outcome", ""))),
        int(turn.get("response_chars") or len(response)),
    ]


def sokoban_episode(record: dict[str, Any], strings: StringTable, cache: dict[str, Board | None]) -> dict[str, Any]:
    """Boards before each turn plus the board after the last one (replayed from the last valid action)."""
    turns = record.get("turns", [])
    boards = [_board(str(t.get("prompt", "")), cache) for t in turns]
    final = boards[-1] if boards else None
    last = turns[-1] if turns else {}
    if final is not None and last.get("valid") and last.get("action") in ACTIONS:
        final = final.step(str(last["action"])).board
    return {
        "i": record.get("index"),
        "ok": bool(record.get("success")),
        "val": record.get("validity"),
        "ret": record.get("return"),
        "boards": [strings.add(_rows(b)) for b in [*boards, final]],
        "turns": [_turn(t, strings) for t in turns],
    }


def points_episode(record: dict[str, Any], strings: StringTable) -> dict[str, Any]:
    """The hand and declared face values (parsed from the prompt) and the single answer's verdict."""
    turns = record.get("turns", [])
    cards, faces = [], None
    try:
        labels, face_map = read_hand(str(turns[0].get("prompt", ""))) if turns else ([], None)
        cards = [str(c) for c in labels]
        if face_map is not None:
            faces = f"J = {face_map.jack}, Q = {face_map.queen}, K = {face_map.king}"
    except (ValueError, SyntaxError):
        pass
    return {
        "i": record.get("index"),
        "ok": bool(record.get("success")),
        "val": record.get("validity"),
        "ret": record.get("return"),
        "cards": cards,
        "faces": faces,
        "turns": [_turn(t, strings) for t in turns],
    }


def state_episode(record: dict[str, Any], task: str, strings: StringTable) -> dict[str, Any]:
    """Frames drawn from the record's states (start, then after each turn); none for records without states."""
    spec = get_task(task)
    states = [record.get("state"), *(t.get("state") for t in record.get("turns", []))]
    frames = [strings.add(None if s is None else spec.play_text(spec.state_from_data(s))) for s in states]
    return {
        "i": record.get("index"),
        "ok": bool(record.get("success")),
        "val": record.get("validity"),
        "ret": record.get("return"),
        "frames": frames if record.get("state") is not None else [],
        "turns": [_turn(t, strings) for t in record.get("turns", [])],
    }


def _declared(prompt: str) -> str | None:
    """``Up = 1, Down = 2, …`` from a Sokoban prompt, or None (the Empty variant declares nothing)."""
    try:
        vocab = read_declared_words(prompt)
    except (ValueError, IndexError):
        return None
    if vocab is None:
        return None
    return ", ".join(f"{a.capitalize()} = {w}" for a, w in zip(ACTIONS, vocab.words, strict=True))


def split_episodes(entry: RunEntry, split: str, per_split: int, strings: StringTable) -> dict[str, Any] | None:
    """The first ``per_split`` episodes (by index) of one split of the chosen checkpoint, or None."""
    path = entry.episodes_file(split)
    if path is None:
        return None
    records = sorted(read_records(path), key=lambda r: r.get("index", 0))
    if not records:
        return None
    chosen = records[:per_split]
    first_prompt = str(chosen[0].get("turns", [{}])[0].get("prompt", "")) if chosen[0].get("turns") else ""
    cache: dict[str, Board | None] = {}
    if entry.task == "sokoban":
        episodes = [sokoban_episode(r, strings, cache) for r in chosen]
    elif entry.task == "points":
        episodes = [points_episode(r, strings) for r in chosen]
    else:
        episodes = [state_episode(r, entry.task, strings) for r in chosen]
    return {
        "prompt": strings.add(first_prompt),
        "declared": _declared(first_prompt) if entry.task == "sokoban" else None,
        "total": len(records),
        "episodes": episodes,
    }


def viewer_data(groups: dict[Key, list[RunEntry]], per_split: int = EPISODES_PER_SPLIT) -> dict[str, Any]:
    """Everything the page's viewer shows, for the lowest seed of each (source, task, method)."""
    if per_split < 0:
        raise ValueError(f"per_split must be >= 0, got {per_split}")
    strings = StringTable()
    runs = []
    for (source, task, method), entries in groups.items():
        if not entries or per_split == 0:
            continue
        entry = entries[0]
        splits = {}
        for split in ordered_splits(entry.metrics):
            data = split_episodes(entry, split, per_split, strings)
            if data is not None:
                splits[split] = data
        if splits:
            label = f"{task} · {method} · {source} · seed {entry.seed} · {entry.chosen or 'final'}"
            runs.append({"label": label, "task": task, "method": method, "splits": splits})
    return {"strings": strings.items, "runs": runs, "per_split": per_split}
