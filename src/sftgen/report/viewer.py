"""The episode viewer's data: a few episodes per split of each run's chosen checkpoint, small enough to embed.

Why this shape: the HTML page must work offline from one file, so episodes travel inside it as JSON. A stuck
episode repeats one state for its whole turn budget, so every string (drawn states, responses, reasons) goes
through one shared table. Only the lowest seed of a method is embedded, and at most ``per_split`` episodes per
split; long responses are cut to ``MAX_RESPONSE_CHARS``.

States come from the records, never from prompt text: the start ``state``, then each turn's ``state`` after it
(a task that takes one turn per episode shows its start only), each as the task's ``Task.view_state`` text. How
the page draws that text, and what it says the prompt declares, is the task's ``Task.view`` of the split's variant.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sftgen.eval.records import read_records
from sftgen.report.aggregate import Key, ordered_splits
from sftgen.report.runs import RunEntry
from sftgen.tasks.protocol import get_task

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


def state_episode(record: dict[str, Any], task: str, strings: StringTable) -> dict[str, Any]:
    """Frames drawn from the record's states (start, then after each turn); none for records without states."""
    spec = get_task(task)
    turns = record.get("turns", [])
    states = [record.get("state")]
    if spec.difficulties[record["difficulty"]].max_turns > 1:
        states += [t.get("state") for t in turns]
    frames = [strings.add(None if s is None else spec.view_state(spec.state_from_data(s))) for s in states]
    return {
        "i": record.get("index"),
        "ok": bool(record.get("success")),
        "val": record.get("validity"),
        "ret": record.get("return"),
        "frames": frames if record.get("state") is not None else [],
        "turns": [_turn(t, strings) for t in turns],
    }


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
    return {
        "prompt": strings.add(first_prompt),
        "view": asdict(get_task(entry.task).view(chosen[0]["variant"])),
        "total": len(records),
        "episodes": [state_episode(r, entry.task, strings) for r in chosen],
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
