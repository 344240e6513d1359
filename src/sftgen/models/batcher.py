"""Group concurrent single-chat requests into batched ``HFBackend`` calls.

Why: an OpenAI client sends one chat per HTTP request (8 in flight by default), while a CPU or GPU model
is ~10x faster per token when it decodes a batch. Requests that arrive within ``max_wait_s`` of each other
and share decoding settings run as one batch; each keeps its own seed, so the answer is the one the
in-process backend gives for that seed, whatever it was batched with.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from sftgen.models.hf_backend import HFBackend
from sftgen.models.sampling import Completion, Sampling


@dataclass
class _Job:
    prompt: list[int]
    sampling: Sampling
    seed: int
    future: Future[Completion] = field(default_factory=Future)


class MicroBatcher:
    """One worker thread owns the model; ``submit`` blocks the calling thread until its answer is ready."""

    def __init__(self, backend: HFBackend, max_batch: int = 64, max_wait_s: float = 0.01) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.backend = backend
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="sftgen-batcher", daemon=True)
        self._thread.start()

    def submit(self, prompt: list[int], sampling: Sampling, seed: int) -> Completion:
        """Generate one answer for encoded ``prompt``; exceptions of its batch are re-raised here."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        job = _Job(prompt, sampling, seed)
        self._queue.put(job)
        return job.future.result()

    def close(self, timeout: float = 30.0) -> None:
        """Finish queued work, then stop the worker."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout)

    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, stop = [first], False
        deadline = time.monotonic() + self.max_wait_s
        while len(jobs) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stop = True
                break
            jobs.append(job)
        return jobs, stop

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            jobs, stop = self._collect(first)
            groups: dict[Sampling, list[_Job]] = {}
            for job in jobs:
                groups.setdefault(dataclasses.replace(job.sampling, seed=0), []).append(job)
            for sampling, group in groups.items():
                self._run_group(sampling, group)

    def _run_group(self, sampling: Sampling, group: list[_Job]) -> None:
        try:
            prompts, seeds = [j.prompt for j in group], [j.seed for j in group]
            results = self.backend.complete_ids(prompts, sampling, seeds=seeds)
        except Exception as err:  # one bad batch must not kill the worker thread
            for job in group:
                job.future.set_exception(err)
            return
        for job, result in zip(group, results, strict=True):
            job.future.set_result(result)
