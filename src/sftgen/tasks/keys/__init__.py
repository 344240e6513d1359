"""Keys task: a key-and-door grid world built on the :mod:`sftgen.tasks.protocol` interface.

The player must collect keys and open doors (which key opens which door, and how many keys fit in hand, are rules
a variant may change) to reach the exit. ``TASK`` is the protocol object; the modules hold the world
(``world``), solver, generator, variants, prompts, verifier (``checking``), env, training rows (``data``) and
named splits.
"""

from .task import TASK, KeysTask

__all__ = ["TASK", "KeysTask"]
