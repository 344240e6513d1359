"""Group concurrent single-chat requests into batched ``HFBackend`` calls.

Why: an OpenAI client sends one chat per HTTP request (8 in flight by default), while a CPU or GPU model
is ~10x faster per token when it decodes a batch. Requests that arrive within ``max_wait_s`` of each other
and share decoding settings run as one batch; each keeps its own seed, so the answer is the one the
in-process backend gives for that seed, whatever it was batched with.

The number of unanswered jobs is bounded (``max_pending``): past it ``submit_future`` raises ``Overloaded``
at once, so a burst of clients gets a quick "try again" instead of a queue (and memory) that grows without end.
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


class Overloaded(RuntimeError):
    """Too many unanswered jobs: the caller should come back later (HTTP 503 with Retry-After)."""


class MicroBatcher:
    """One worker thread owns the model; ``submit`` blocks the calling thread until its answer is ready."""

    def __init__(
        self, backend: HFBackend, max_batch: int = 64, max_wait_s: float = 0.01, max_pending: int | None = None
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if max_pending is not None and max_pending < 1:
            raise ValueError(f"max_pending must be >= 1 or None, got {max_pending}")
        self.backend = backend
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_pending = max_pending
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="sftgen-batcher", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet answered (queued or being decoded)."""
        return self._pending

    def submit_future(self, prompt: list[int], sampling: Sampling, seed: int) -> Future[Completion]:
        """Queue one job without waiting; raises ``Overloaded`` when ``max_pending`` jobs are unanswered."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        with self._pending_lock:
            if self.max_pending is not None and self._pending >= self.max_pending:
                raise Overloaded(f"{self._pending} requests are already waiting (limit {self.max_pending})")
            self._pending += 1
        job = _Job(prompt, sampling, seed)
        job.future.add_done_callback(self._answered)
        self._queue.put(job)
        return job.future

    def submit(self, prompt: list[int], sampling: Sampling, seed: int) -> Completion:
        """Generate one answer for encoded ``prompt``; exceptions of its batch are re-raised here."""
        return self.submit_future(prompt, sampling, seed).result()

    def _answered(self, _: Future[Completion]) -> None:
        with self._pending_lock:
            self._pending -= 1

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
