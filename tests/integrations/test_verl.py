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


# --- whole episodes: the sftgen_episode agent loop, run by hand with a scripted rollout server -------------------

TINY = Path(__file__).parents[2] / "src/sftgen/resources/bases/tiny-copy"
LOOP_YAML = "- name: sftgen_episode\n  _target_: sftgen.integrations.verl_agent_loop.SftgenEpisodeAgentLoop\n"
"""The agent loop config the docs tell verl to load (``rollout.agent.agent_loop_config_path``)."""
EPISODE_TASKS = ("sokoban", "keys")


def _honest_splits(task: str, total: int) -> list[tuple[str, int]]:
    """``total`` episodes of ``task`` over its honest splits (the loop refuses fake ones), as agreement_splits."""
    from sftgen.splits import SPLITS
    from sftgen.tasks.protocol import get_task

    spec = get_task(task)
    refused = {f"{task}/empty"}  # its prompt declares no words: refused, see test_agent_loop_refuses_rows...
    names = [s.name for s in SPLITS.values() if s.task == task and not spec.variants[s.variant].fake]
    names = [name for name in names if name not in refused]
    per = -(-total // len(names))
    return [(name, per) for name in names]


class ScriptedServer:
    """verl's server manager (``generate`` -> ``TokenOutput``) whose model answers the last user message with
    ``policy(text)``, then the end-of-turn token; it records each turn (the user message and its answer)."""

    def __init__(self, tokenizer, policy) -> None:
        self.tokenizer, self.policy, self.turns = tokenizer, policy, []
        self.user, self.end = tokenizer.convert_tokens_to_ids(["<|user|>", "<|end|>"])

    async def generate(self, request_id, *, prompt_ids, sampling_params, **_kwargs):
        from verl.workers.rollout.replica import TokenOutput

        start = len(prompt_ids) - 1 - prompt_ids[::-1].index(self.user)
        stop = prompt_ids.index(self.end, start)
        prompt = self.tokenizer.decode(prompt_ids[start + 1 : stop], skip_special_tokens=True)
        answer = self.policy(prompt)
        self.turns.append((prompt, answer))
        ids = self.tokenizer(answer, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
        return TokenOutput(token_ids=ids, num_preempted=0)


def _loop(tmp_path: Path, server, tokenizer, response_length: int = 1 << 16, **loop_kwargs):
    """The agent loop as verl's AgentLoopWorker builds it: the YAML entry through hydra.utils.instantiate."""
    import hydra
    from omegaconf import OmegaConf
    from verl.experimental.agent_loop.agent_loop import DictConfigWrap, ToolListWrap
    from verl.utils.dataset.rl_dataset import RLHFDataset

    (tmp_path / "agent_loops.yaml").write_text(LOOP_YAML)
    (entry,) = OmegaConf.load(tmp_path / "agent_loops.yaml")
    entry = OmegaConf.merge(entry, loop_kwargs)
    rollout = {"prompt_length": 4096, "response_length": response_length, "multi_turn": {"max_assistant_turns": None}}
    config = OmegaConf.create({"actor_rollout_ref": {"rollout": rollout}, "data": {}})
    return hydra.utils.instantiate(
        config=entry,
        trainer_config=DictConfigWrap(config=config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=None,
        hf_model_type=None,
        dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(config.data),
        tools=ToolListWrap([]),
    )


def _rows(tmp_path: Path, tokenizer, plan: list[tuple[str, int]]) -> list[dict]:
    """The rows verl hands an agent loop: the export read back by RLHFDataset."""
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset

    rows = []
    for split, n in plan:
        path = export(tmp_path / split.replace("/", "_"), split, n)
        config = OmegaConf.create({"cache_dir": str(tmp_path / "cache"), "max_prompt_length": 4096})
        dataset = RLHFDataset(str(path), tokenizer, config)
        rows += [dataset[i] for i in range(len(dataset))]
    return rows


def _play(agent_loop, row: dict):
    """``run`` with the row's fields on the event loop verl bound the agent loop to (as AgentLoopWorker does)."""
    fields = {k: row[k] for k in ("raw_prompt", "reward_model", "extra_info", "data_source", "index")}
    return agent_loop.loop.run_until_complete(agent_loop.run({"temperature": 1.0}, **fields))


def _tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(TINY))


@pytest.mark.parametrize("task", EPISODE_TASKS)
def test_agent_loop_episodes_equal_sftgens_environment(tmp_path: Path, task: str) -> None:
    """The loop, fed by a scripted server answering with sftgen's stateless policy mix, ends each episode as
    sftgen's own environment does with the same answers (a few hundred episodes per task); the token sequence is
    the chat template's rendering of the conversation, and response_mask marks exactly the model's tokens."""
    pytest.importorskip("verl", reason="verl is not installed (see docs/integrations.md for how)")
    from stack_policies import mixed_answer, play_locally

    from sftgen.integrations.verl_agent_loop import SOLVED, UNSOLVED

    plan = _honest_splits(task, 300)
    expected: dict = {}
    for split, n in plan:
        expected |= play_locally(split, n, 10**6)  # first: it makes every prompt of these episodes known
    tokenizer = _tokenizer()
    outcomes = {True: 0, False: 0}
    for row in _rows(tmp_path, tokenizer, plan):
        server = ScriptedServer(tokenizer, mixed_answer)
        output = _play(_loop(tmp_path, server, tokenizer), row)
        success, total, turns, rewards = expected[row["extra_info"]["id"]]
        assert output.reward_score == (SOLVED if success else UNSOLVED), row["extra_info"]["id"]
        assert output.extra_fields["reward_extra_info"] == {"acc": float(success), "turns": turns, "env_reward": total}
        assert output.extra_fields["turn_scores"] == rewards
        assert len(server.turns) == turns and output.num_turns == 2 * turns
        conversation = list(row["raw_prompt"])
        for i, (prompt, answer) in enumerate(server.turns):
            if i:
                conversation.append({"role": "user", "content": prompt})
            conversation.append({"role": "assistant", "content": answer})
        rendered = tokenizer.apply_chat_template(conversation, tokenize=True)["input_ids"]
        assert output.prompt_ids + output.response_ids == rendered
        eos = [tokenizer.eos_token_id]
        model_tokens = [t for _, a in server.turns for t in tokenizer(a, add_special_tokens=False)["input_ids"] + eos]
        assert [t for t, m in zip(output.response_ids, output.response_mask, strict=True) if m] == model_tokens
        assert (
            output.prompt_ids
            == tokenizer.apply_chat_template(row["raw_prompt"], add_generation_prompt=True)["input_ids"]
        )
        outcomes[success] += 1
    assert sum(outcomes.values()) >= 280 and outcomes[True] > 0 and outcomes[False] > 0


@pytest.mark.parametrize("task", EPISODE_TASKS)
def test_oracle_episodes_score_1_and_wrong_answers_0(tmp_path: Path, task: str) -> None:
    """The task's oracle (reading each prompt back as text) solves every episode: reward 1.0 after several
    turns; an always-wrong model scores 0.0."""
    pytest.importorskip("verl", reason="verl is not installed (see docs/integrations.md for how)")
    import numpy as np

    from sftgen.tasks.protocol import get_task

    spec, tokenizer = get_task(task), _tokenizer()
    turns = []
    for row in _rows(tmp_path, tokenizer, [(f"{task}/id", 20)]):
        oracle = ScriptedServer(tokenizer, lambda p: spec.answer_from_text("oracle", p, np.random.default_rng(0)))
        assert _play(_loop(tmp_path, oracle, tokenizer), row).reward_score == 1.0
        turns.append(len(oracle.turns))
        wrong = ScriptedServer(tokenizer, lambda _p: "I think the answer is up.")
        assert _play(_loop(tmp_path, wrong, tokenizer), row).reward_score == 0.0
    assert max(turns) >= 3


def test_turn_and_length_caps_end_an_episode(tmp_path: Path) -> None:
    """``max_turns`` in the loop's YAML entry ends a solvable episode unsolved after that many moves; so does a
    response_length with room for one move only (the next prompt does not fit)."""
    pytest.importorskip("verl", reason="verl is not installed (see docs/integrations.md for how)")
    import numpy as np

    from sftgen.tasks.protocol import get_task

    spec, tokenizer = get_task("sokoban"), _tokenizer()

    def oracle(prompt: str) -> str:
        return spec.answer_from_text("oracle", prompt, np.random.default_rng(0))

    for row in _rows(tmp_path, tokenizer, [("sokoban/id", 10)]):  # the first level the oracle needs 3+ moves for
        full = ScriptedServer(tokenizer, oracle)
        assert _play(_loop(tmp_path, full, tokenizer), row).reward_score == 1.0
        if len(full.turns) >= 3:
            break
    assert len(full.turns) >= 3
    capped = ScriptedServer(tokenizer, oracle)
    output = _play(_loop(tmp_path, capped, tokenizer, max_turns=2), row)
    assert (output.reward_score, len(capped.turns), output.num_turns) == (0.0, 2, 4)
    short = ScriptedServer(tokenizer, oracle)
    output = _play(_loop(tmp_path, short, tokenizer, response_length=16), row)
    assert (output.reward_score, len(short.turns)) == (0.0, 1)
    assert output.response_mask == [1] * len(output.response_ids)


def test_agent_loop_refuses_rows_it_cannot_replay(tmp_path: Path) -> None:
    """A fake split (declared ≠ checked), a variant whose prompt declares no words, and a row exported with another
    response format than the loop's are errors, not silently different episodes."""
    pytest.importorskip("verl", reason="verl is not installed (see docs/integrations.md for how)")
    tokenizer = _tokenizer()
    server = ScriptedServer(tokenizer, lambda _p: "")
    (fake,) = _rows(tmp_path, tokenizer, [("keys/fake_numerical", 1)])
    with pytest.raises(ValueError, match="fake split"):
        _play(_loop(tmp_path, server, tokenizer), fake)
    (empty,) = _rows(tmp_path, tokenizer, [("sokoban/empty", 1)])
    with pytest.raises(ValueError, match="not the one its environment opens with"):
        _play(_loop(tmp_path, server, tokenizer), empty)
    (honest,) = _rows(tmp_path, tokenizer, [("sokoban/id", 1)])
    with pytest.raises(ValueError, match="not the one its environment opens with"):
        _play(_loop(tmp_path, server, tokenizer, response_format="think"), honest)
    assert server.turns == []
