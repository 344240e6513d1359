"""Adapters that put sftgen's splits and verifiers inside other training and evaluation stacks.

One module per stack (``reasoning_gym``, ``verl``, ``trl``, ``inspect``), each behind an optional extra; all of
them draw items and scores from :mod:`sftgen.integrations.items`, so every stack scores an answer exactly as
``sftgen eval`` does. docs/integrations.md has one recipe per stack and what each supports.
"""
