"""Per-episode JSONL records: the single source every metric is computed from.

A record carries the start ``state`` and each turn the ``state`` after it (the task's ``state_data``), so
viewers and analyses read states instead of parsing prompt text back.

Why JSONL with one line per *finished* episode: a run killed at any moment leaves every finished episode
on disk as a whole line (at worst a truncated last line, which resume cuts off), so a resumed run skips
exactly the episodes it already has and its metrics equal those of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

EPISODES_DIR = "episodes"
# A garbage-writing model may emit megabytes; records keep a prefix and the true length.
MAX_STORED_RESPONSE = 20_000


def split_filename(split: str) -> str:
    """``task/split`` -> ``task__split.jsonl`` (one file per split, flat folder)."""
    return split.replace("/", "__") + ".jsonl"


def episodes_path(out: Path, split: str) -> Path:
    return Path(out) / EPISODES_DIR / split_filename(split)


def turn_outcome(info: dict[str, Any]) -> str:
    """The outcome class of one turn, as the task's env reports it (one of ``Task.turn_outcomes``)."""
    return str(info["outcome"])


def stored_response(text: str) -> dict[str, Any]:
    """The response as stored: its first ``MAX_STORED_RESPONSE`` characters plus its true length."""
    row: dict[str, Any] = {"response": text[:MAX_STORED_RESPONSE], "response_chars": len(text)}
    if len(text) > MAX_STORED_RESPONSE:
        row["response_truncated"] = True
    return row


def record_line(record: dict[str, Any]) -> str:
    """One JSON line, readable UTF-8; lone surrogates (a model can emit them) are escaped, so nothing is lost."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record, ensure_ascii=True)
    return line + "\n"


def read_records(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """All complete records of a JSONL file, in file order.

    A last line without its newline is a write cut short by a crash: it is ignored, and with ``repair`` cut
    off the file so the next append starts on a fresh line. A broken line elsewhere is real corruption and
    raises, naming the line.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    complete_end = data.rfind(b"\n") + 1
    if complete_end < len(data) and repair:
        with open(path, "r+b") as handle:
            handle.truncate(complete_end)
            handle.flush()
            os.fsync(handle.fileno())
    records = []
    for number, line in enumerate(data[:complete_end].decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{number} is not a JSON record ({err}); the file is corrupt") from err
    return records


def finished_by_id(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records keyed by instance id (the first one wins if an id was ever written twice)."""
    by_id: dict[str, dict[str, Any]] = {}
    for record in records:
        by_id.setdefault(record["instance_id"], record)
    return by_id


class EpisodeLog:
    """Appends finished episodes to one JSONL file per split; ``sync`` makes them durable.

    Each record is written as one line with a single ``write`` and flushed; ``sync`` (called after every
    generate call's finished episodes, before the next call starts) fsyncs the files touched since.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._handles: dict[str, IO[str]] = {}
        self._dirty: set[str] = set()

    def append(self, record: dict[str, Any]) -> None:
        split = record["split"]
        handle = self._handles.get(split)
        if handle is None:
            path = episodes_path(self.out, split)
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = self._handles[split] = open(path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
        handle.write(record_line(record))
        handle.flush()
        self._dirty.add(split)

    def sync(self) -> None:
        for split in self._dirty:
            os.fsync(self._handles[split].fileno())
        self._dirty.clear()

    def close(self) -> None:
        self.sync()
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __enter__(self) -> EpisodeLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
