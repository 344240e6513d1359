"""The real `sftgen serve` process + the `openai` backend give the same metrics as the `hf` backend."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sftgen.eval.evaluate import evaluate
from sftgen.eval.records import episodes_path, read_records
from sftgen.models.sampling import Sampling

SPLITS = ["sokoban/numerical", "sokoban/fake_numerical", "points/all_5"]
GREEDY = Sampling(greedy=True, max_new_tokens=12)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def served(tmp_path: Path, tiny_model, full_tokenizer):
    """A tiny model saved to disk and served by `sftgen serve` in its own process, on loopback."""
    model_dir = tmp_path / "model"
    tiny_model.save_pretrained(model_dir)
    full_tokenizer.save_pretrained(model_dir)
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "sftgen.cli", "serve", "--model", str(model_dir), "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("sftgen serve exited before it served")
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise TimeoutError("sftgen serve did not come up in 120 s")
        yield model_dir, url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _texts(out: Path, split: str) -> list[list[str]]:
    records = sorted(read_records(episodes_path(out, split)), key=lambda r: r["index"])
    return [[turn["response"] for turn in r["turns"]] for r in records]


@pytest.mark.slow
def test_served_model_scores_like_the_in_process_model(served, tmp_path: Path) -> None:
    model_dir, url = served
    local = evaluate(str(model_dir), SPLITS, tmp_path / "hf", n=4, sampling=GREEDY, template="compact")
    remote = evaluate(url, SPLITS, tmp_path / "openai", n=4, sampling=GREEDY, template="compact", batch_size=4)
    assert set(SPLITS) <= set(local["splits"])
    for split in SPLITS:
        for key in ("success", "validity", "n", "mean_turns"):
            assert remote["splits"][split][key] == local["splits"][split][key], (split, key)
        assert _texts(tmp_path / "openai", split) == _texts(tmp_path / "hf", split)
