"""Recipes and the end-to-end runner behind `sftgen reproduce`."""
