"""Module entry point of ``sftgen train sft`` for launchers that take a module: ``accelerate launch -m``.

    accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml \\
        -m sftgen.train.sft_main --config recipes/sft/qwen2.5-7b-sokoban-answer-only.yaml

Same options as ``sftgen train sft``; each process runs the same command and accelerate wires them together.
"""

from __future__ import annotations

import sys

from sftgen.train.commands import sft_command


def main(argv: list[str] | None = None) -> None:
    sft_command.main(args=sys.argv[1:] if argv is None else argv, prog_name="python -m sftgen.train.sft_main")


if __name__ == "__main__":
    main()
