"""inspect_ai adapter: the entry point's tasks, multi-turn episodes against `sftgen serve` on the tiny model, a log
inspect's viewer reads, and episode success equal to sftgen's own environments on 1,000 episodes per task."""

from __future__ import annotations

import pytest

pytest.importorskip("inspect_ai", reason="inspect_ai is not installed (pip install 'sftgen[inspect]')")

from inspect_ai import eval as inspect_eval
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from stack_policies import know_items, mixed_answer, play_locally

from sftgen.integrations import inspect_ai as adapter
from sftgen.integrations.items import make_items
from sftgen.splits import SPLITS
from sftgen.tasks.protocol import task_names


def mock_model():
    """inspect's mockllm answering with ``mixed_answer``; usage is given so that inspect counts no tokens (no
    tiktoken)."""

    def outputs(messages, tools, tool_choice, config) -> ModelOutput:
        output = ModelOutput.from_content("mockllm", mixed_answer(messages[-1].text))
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return output

    return get_model("mockllm/model", custom_outputs=outputs)


def test_every_split_is_an_entry_point_task(tmp_path) -> None:
    assert set(adapter.TASKS) == set(SPLITS)
    know_items(make_items("points/fake_all_5", 3))
    logs = inspect_eval(
        "sftgen/points_fake_all_5", model=mock_model(), task_args={"n": 3}, display="none", log_dir=str(tmp_path)
    )
    assert logs[0].status == "success"
    assert [s.id for s in logs[0].samples] == [f"points/fake_all_5#{i}" for i in range(3)]


AGREEMENT = {"sokoban": "sokoban/numerical", "points": "points/fake", "keys": "keys/fake_next_colour"}
"""One split per task (an instruction or fake variant), 1,000 episodes of it: frozen instances past the split's
own size are drawn the same way."""


def test_every_task_has_an_agreement_split() -> None:
    assert set(AGREEMENT) == set(task_names())


@pytest.mark.parametrize("task", sorted(AGREEMENT))
def test_episode_success_equals_sftgens_environment_on_1000_episodes(tmp_path, task: str) -> None:
    n, max_turns, split_name = 1000, 12, AGREEMENT[task]
    expected = play_locally(split_name, n, max_turns)  # first: it makes every prompt of these episodes known
    logs = inspect_eval(
        adapter.split_task(split_name, n=n, max_turns=max_turns),
        model=mock_model(),
        display="none",
        max_samples=64,
        log_dir=str(tmp_path),
    )
    scored = {str(s.id): s.scores["episode_success"].value == 1.0 for s in logs[0].samples}
    assert len(scored) == n and scored == {key: success for key, (success, *_) in expected.items()}
    assert 0 < sum(scored.values()) < n  # both outcomes occur


def test_multi_turn_episodes_against_sftgen_serve_on_the_tiny_model(tmp_path, monkeypatch) -> None:
    """The server `sftgen serve` runs (create_app + uvicorn on loopback), reached through inspect's OpenAI
    provider on its chat-completions path; the log it writes is read back as inspect's viewer reads it."""
    from sftgen.models.serve import BackgroundServer, create_app
    from sftgen.models.tiny import build_tiny_model
    from sftgen.models.tokenizer import build_tokenizer

    monkeypatch.setenv("OPENAI_API_KEY", "sftgen-local")
    items = make_items("sokoban/fake_cardinal", 2) + make_items("points/all_7", 2)
    tokenizer = build_tokenizer([i.question for i in items] + [i.reference for i in items])
    model = build_tiny_model("tiny", tokenizer, seed=0)
    with BackgroundServer(create_app(model, tokenizer, model_name="tiny", batch_size=4)) as server:
        logs = inspect_eval(
            ["sftgen/sokoban_fake_cardinal", "sftgen/points_all_7"],
            model="openai/tiny",
            model_base_url=server.url + "/v1",
            model_args={"responses_api": False},
            task_args={"n": 2, "max_turns": 3},
            max_tokens=8,
            log_dir=str(tmp_path),
            display="none",
        )
    assert [log.status for log in logs] == ["success", "success"]
    assert len(list_eval_logs(str(tmp_path))) == 2
    sokoban, points = (read_eval_log(log.location) for log in logs)
    for sample in sokoban.samples:
        episode = sample.metadata[adapter.METADATA_KEY]
        assert len(episode["turns"]) == 3 or episode["success"]  # untrained: it rarely solves, never stops early
        assert sample.scores["episode_success"].value in (0.0, 1.0)
    assert all(len(s.metadata[adapter.METADATA_KEY]["turns"]) == 1 for s in points.samples)
    assert points.results.scores[0].metrics["accuracy"].value >= 0.0
