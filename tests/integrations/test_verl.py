"""verl adapter: `sftgen export verl` writes verl's RL parquet; verl's own loaders read it and score it with ours."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from integration_helpers import sampled_answers

from sftgen.cli import main
from sftgen.integrations import verl as adapter
from sftgen.integrations.items import make_items, score
from sftgen.tasks.protocol import task_names

COLUMNS = ["data_source", "prompt", "ability", "reward_model", "extra_info"]


def export(tmp_path: Path, splits: str, n: int) -> Path:
    out = tmp_path / "train.parquet"
    result = CliRunner().invoke(main, ["export", "verl", "--split", splits, "--n", str(n), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_export_writes_verls_rl_layout(tmp_path: Path) -> None:
    rows = pq.read_table(export(tmp_path, "sokoban/fake_emoji,points/all_7,keys/one_key", 3)).to_pylist()
    assert list(rows[0]) == COLUMNS
    sources = ["sftgen_sokoban_fake_emoji", "sftgen_points_all_7", "sftgen_keys_one_key"]
    assert [r["data_source"] for r in rows] == [name for name in sources for _ in range(3)]
    items = make_items("sokoban/fake_emoji", 3) + make_items("points/all_7", 3) + make_items("keys/one_key", 3)
    for row, item in zip(rows, items, strict=True):
        assert row["prompt"] == item.prompt
        assert row["ability"] == item.task
        assert row["reward_model"]["style"] == "rule"
        assert json.loads(row["reward_model"]["ground_truth"]) == item.ground_truth
        assert row["extra_info"]["id"] == item.id
        verdict = adapter.compute_score(row["data_source"], item.reference, row["reward_model"]["ground_truth"])
        assert verdict["acc"] == 1.0


def test_export_rejects_an_unknown_split(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "verl", "--split", "sokoban/nope", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0
    assert "unknown split" in result.output


def test_verl_reads_the_parquet_and_scores_with_our_verifier(tmp_path: Path) -> None:
    """verl's RLHFDataset loads the rows; get_custom_reward_fn loads compute_score by path as a run config would;
    its score equals sftgen's verifier on >= 1,000 answers per task, and NaiveRewardManager passes it on."""
    verl = pytest.importorskip("verl", reason="verl is not installed (see docs/integrations.md for how)")
    import torch
    from omegaconf import OmegaConf
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.utils.dataset.rl_dataset import RLHFDataset

    from sftgen.models.tokenizer import build_tokenizer

    size, splits = 100, ("sokoban/fake_numerical", "points/fake_all_5", "keys/fake_next_colour")
    items = [item for split in splits for item in make_items(split, size)]
    path = export(tmp_path, ",".join(splits), size)
    rng = random.Random(0)
    answers = [sampled_answers(item, rng) for item in items]
    tokenizer = build_tokenizer([i.question for i in items] + [a for group in answers for a in group])
    dataset = RLHFDataset(str(path), tokenizer, OmegaConf.create({"cache_dir": str(tmp_path / "cache")}))
    assert len(dataset) == len(items)
    config = OmegaConf.create(
        {
            "reward": {
                "custom_reward_function": {"path": adapter.__file__, "name": "compute_score"},
                "reward_manager": {"source": "register", "name": "naive"},
            }
        }
    )
    compute_score = get_custom_reward_fn(config)
    manager = get_reward_manager_cls("naive")(config=config, tokenizer=tokenizer, compute_score=compute_score)
    checked = dict.fromkeys(task_names(), 0)
    for index, (item, group) in enumerate(zip(items, answers, strict=True)):
        row = dataset[index]
        assert row["extra_info"]["id"] == item.id
        for answer in group:
            ours = score(answer, item.ground_truth)
            got = compute_score(data_source=row["data_source"], solution_str=answer, **_truth(row))
            assert (got["score"], got["acc"]) == (ours.reward, float(ours.success)), answer
            checked[item.task] += 1
        if index % 17 == 0:  # the whole reward-manager path (token ids -> text -> score) on a sample
            response = tokenizer(group[1], add_special_tokens=False, return_tensors="pt")["input_ids"]
            mask = torch.ones((1, 4 + response.shape[1]), dtype=torch.long)
            data = verl.DataProto.from_dict(
                tensors={"prompts": mask[:, :4], "responses": response, "attention_mask": mask},
                non_tensors={k: _object_array(row[k]) for k in ("data_source", "reward_model", "extra_info")},
            )
            result = manager.loop.run_until_complete(manager.run_single(data))  # the loop verl bound it to
            assert result["reward_score"] == score(group[1], item.ground_truth).reward
    assert min(checked.values()) >= 1000


def _truth(row: dict) -> dict:
    return {"ground_truth": row["reward_model"]["ground_truth"], "extra_info": row["extra_info"]}


def _object_array(value: object):
    import numpy as np

    array = np.empty(1, dtype=object)
    array[0] = value
    return array
