"""`sftgen reproduce --set`, the recipe's `teacher:` and served evaluation (`eval.backend: openai`): settings are
checked before anything runs, and the evaluation server is started, waited for and stopped with the job."""

from __future__ import annotations

import sys
import time

import pytest

from sftgen.experiment.jobs import launcher_command, served
from sftgen.experiment.recipe import load_recipe
from sftgen.experiment.runner import refuse_per_rank_launch
from sftgen.train.typed import ConfigError


def test_size_settings_reach_the_recipe_by_dotted_key_and_task_name():
    recipe = load_recipe(
        "qwen2.5-7b",
        settings=["model=/models/standin", "tasks.points.n=8", "train.max_steps=4", "train.epochs=null"],
    )
    assert recipe.model == "/models/standin"
    assert [(t.task, t.n) for t in recipe.tasks] == [("sokoban", 1000), ("points", 8)]
    config = recipe.sft_config("answer-only", 0, "DATA", "OUT", task="points")
    assert (config.max_steps, config.epochs, config.lr) == (4, None, 1.0e-5)  # the rest stays the recipe's


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("tasks.keys.n=8", "tasks.keys"),  # no such task in the recipe
        ("teacher.samples=0", "teacher.samples"),
        ("eval.backend=openai2", "eval.backend"),
        ("train.lr=fast", "train.lr"),
    ],
)
def test_a_bad_setting_names_its_key(setting, field):
    extra = ["teacher.model=http://127.0.0.1:1"] if setting.startswith("teacher.") else []
    with pytest.raises(ConfigError) as err:
        load_recipe("qwen2.5-7b", settings=[*extra, setting])
    assert err.value.field == field


def test_a_served_evaluation_needs_model_and_port_in_its_command():
    with pytest.raises(ConfigError) as err:
        load_recipe("qwen2.5-7b", settings=["eval.backend=openai", "eval.server=vllm serve {model}"])
    assert err.value.field == "eval.server"
    recipe = load_recipe("qwen2.5-7b", settings=["eval.backend=openai", "teacher.model=http://127.0.0.1:8001"])
    assert recipe.eval.server.startswith("vllm serve {model} --port {port}") and recipe.teacher.samples == 16


SERVER = (
    "import http.server, sys\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200 if self.path == '/v1/models' else 404); self.end_headers()\n"
    "        self.wfile.write(sys.argv[1].encode())\n"
    "http.server.HTTPServer(('127.0.0.1', int(sys.argv[2])), H).serve_forever()\n"
)


def test_served_waits_for_the_server_and_stops_it(tmp_path):
    import urllib.request

    script = tmp_path / "server.py"
    script.write_text(SERVER)
    with served(f"{sys.executable} {script} {{model}} {{port}}", "MODEL-DIR", timeout=60) as url:
        body = urllib.request.urlopen(f"{url}/v1/models", timeout=5).read()
    assert body == b"MODEL-DIR"  # the command got the model folder and the port
    time.sleep(0.2)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/v1/models", timeout=2)


def test_a_server_that_exits_fails_the_job_instead_of_hanging():
    command = f"{sys.executable} -c 'import sys; sys.exit(3)' {{model}} {{port}}"
    with pytest.raises(RuntimeError, match="exited with code 3"), served(command, "M", timeout=60):
        pass


def test_reproduce_refuses_to_be_one_of_several_ranks(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="launcher:"):
        refuse_per_rank_launch()


def test_the_launcher_is_found_beside_python_when_not_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    words = launcher_command("accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml")
    assert words[0].endswith("/accelerate") and words[1:3] == ["launch", "--config_file"]
