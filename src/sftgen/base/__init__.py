"""Tiny base models: a synthetic curriculum that teaches reading declared mappings before any SFT."""
