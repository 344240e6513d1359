"""What preparing SFT rows costs before the first step: sftgen's batch tokenization against TRL's own, side by side.

Run with ``sftgen bench sft_tokenize [--quick] [--json FILE]``. For each task, compact answer-only rows are built
once; then the same ``SFTGenTrainer`` is constructed twice on the tiny model, once handed the raw prompt/completion
rows (TRL tokenizes them one at a time, builds labels, truncates, filters) and once handed
``sftgen.train.pretokenize.for_trainer``'s rows (the batch path, its run-time check included). Both sides keep
the rows in memory, so neither writes cache files, and the two must give the same ids and labels.
"""

from __future__ import annotations

import tempfile
import time

INSTANCES = {"sokoban": 2000, "points": 4000}
QUICK = {"sokoban": 300, "points": 600}


def _trainer_seconds(dataset, tokenizer, args, batch: bool):
    from sftgen.models.tiny import build_tiny_model
    from sftgen.train.pretokenize import for_trainer
    from sftgen.train.trainer import SFTGenTrainer

    model = build_tiny_model("tiny", tokenizer, seed=0)
    start = time.perf_counter()
    if batch:
        dataset, prepared = for_trainer(dataset, tokenizer, args)
        if not prepared:
            raise RuntimeError("the batch path stood aside on sftgen's own rows")
    trainer = SFTGenTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    return time.perf_counter() - start, trainer.train_dataset


def run(quick: bool = False) -> list[dict]:
    from datasets import Dataset

    from sftgen.data.build import BuildConfig, iter_rows
    from sftgen.train.config import SFTRunConfig
    from sftgen.train.modeling import tiny_tokenizer
    from sftgen.train.sft import sft_args

    tokenizer = tiny_tokenizer()
    rows = []
    for task, n in (QUICK if quick else INSTANCES).items():
        items = list(iter_rows(BuildConfig("answer-only", task, n, template="compact"), frozenset()))
        dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in items])
        with tempfile.TemporaryDirectory() as out:
            config = SFTRunConfig(model="tiny", data=["unused"], out=out, max_steps=1, progress=False)
            trl_s, theirs = _trainer_seconds(dataset, tokenizer, sft_args(config, False, False), batch=False)
            ours_s, ours = _trainer_seconds(dataset, tokenizer, sft_args(config, False, False), batch=True)
        same = ours["input_ids"][:] == theirs["input_ids"][:] and ours["labels"][:] == theirs["labels"][:]
        rows.append(
            {
                "name": f"{task}: SFT rows prepared per second",
                "ours_per_s": len(dataset) / ours_s,
                "peer": "TRL's per-row preparation",
                "peer_per_s": len(dataset) / trl_s,
                "ratio": trl_s / ours_s,
                "note": f"{len(dataset):,} rows; {ours_s:.1f} s against {trl_s:.1f} s; "
                + ("identical ids and labels" if same else "IDS OR LABELS DIFFER"),
            }
        )
    return rows
