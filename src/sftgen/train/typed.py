"""Typed loading of config dataclasses from YAML / dicts / ``key=value`` overrides.

Why our own small loader: house rule 1 wants an unknown key or a wrongly typed value to be an error that
names the field, raised before any work starts. ``dataclasses`` does not check types and PyYAML reads
``1e-5`` as a *string* (YAML 1.1 needs a dot), so each value is coerced against the field's type hint here:
numbers may come as numeric strings, everything else must already have the right type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value or key is wrong; ``field`` is the dotted name of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _type_name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(hint))
    if origin is list:
        (inner,) = typing.get_args(hint)
        return f"list[{_type_name(inner)}]"
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint))


def coerce(value: Any, hint: Any, name: str) -> Any:
    """``value`` converted to ``hint`` (bool, int, float, str, ``X | None``, ``list[X]``, ``dict[K, V]``, dataclass)."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        candidates = [a for a in args if a is not type(None)]
        if len(candidates) == 1:  # X | None: X's own error names the exact element
            return coerce(value, candidates[0], name)
        for arg in candidates:
            try:
                return coerce(value, arg, name)
            except ConfigError:
                continue
        raise ConfigError(name, f"expected {_type_name(hint)}, got {value!r}")
    if origin is list:
        (inner,) = typing.get_args(hint)
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(name, f"expected a list, got {value!r}")
        return [coerce(v, inner, f"{name}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint)
        if not isinstance(value, Mapping):
            raise ConfigError(name, f"expected a mapping, got {value!r}")
        return {
            coerce(k, key_hint, name): v if value_hint is Any else coerce(v, value_hint, f"{name}.{k}")
            for k, v in value.items()
        }
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if isinstance(value, hint):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(name, f"expected a mapping of {hint.__name__} settings, got {value!r}")
        return from_mapping(hint, value, prefix=f"{name}.")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(name, f"expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
        raise ConfigError(name, f"expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # PyYAML reads 1e-5 as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(name, f"expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(name, f"expected a string, got {value!r}")
    raise TypeError(f"{name}: unsupported config type {hint!r}")  # a bug in the dataclass, not in the input


def from_mapping(cls: type[T], data: Mapping[str, Any], prefix: str = "") -> T:
    """Build dataclass ``cls`` from ``data``: unknown keys and badly typed values raise ``ConfigError``."""
    if not isinstance(data, Mapping):
        raise ConfigError(prefix.rstrip(".") or "config", f"expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in known:
            raise ConfigError(f"{prefix}{key}", f"unknown key; valid keys: {', '.join(sorted(known))}")
    values = {key: coerce(value, hints[key], f"{prefix}{key}") for key, value in data.items()}
    missing = [
        name
        for name, f in known.items()
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{prefix}{missing[0]}", "required setting is missing")
    return cls(**values)


def to_mapping(obj: Any) -> dict[str, Any]:
    """Plain dict (nested dataclasses become dicts) suitable for YAML and JSON."""
    return dataclasses.asdict(obj)


def load_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping (an empty file is an empty mapping)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config", f"no such file: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:  # without this the message names "<unicode string>", not the file
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ":"
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(str(path), f"YAML syntax error{where} {problem}; it must be a YAML mapping") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config", f"{path} must contain a mapping of settings at the top level")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"lora.r=8"`` -> (``["lora", "r"]``, 8); the value is read as YAML (``[a, b]``, ``null``, ``true``)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(text, "an override must look like KEY=VALUE (e.g. lr=1e-4, lora.r=8)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise ConfigError(key.strip(), f"cannot read value {raw!r}: {err}") from err
    return [part.strip() for part in key.split(".")], value


def merge_override(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``data[path[0]][path[1]]... = value`` in place, creating nested mappings as needed."""
    node = data
    for i, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(".".join(path[: i + 1]), "is not a mapping, so it has no sub-keys")
        node = child
    node[path[-1]] = value


class TypedConfig:
    """Construction and serialisation shared by the run-config dataclasses (SFT, GRPO).

    Subclasses are dataclasses with a ``validate()`` method; everything here goes through the typed loader.
    """

    def validate(self) -> None:  # pragma: no cover - every subclass defines its own checks
        raise NotImplementedError

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
        """Typed construction; unknown keys and wrong types raise ``ConfigError`` naming the field."""
        return from_mapping(cls, data)

    @classmethod
    def from_yaml(cls: type[T], path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> T:
        """Load a YAML file, apply ``key=value`` overrides (``lr=1e-4``, ``lora.r=8``), validate."""
        data = load_yaml_mapping(path)
        for text in overrides:
            merge_override(data, *parse_override(text))
        config = from_mapping(cls, data)
        config.validate()  # type: ignore[attr-defined]
        return config

    def with_overrides(self: T, overrides: dict[str, Any] | list[str]) -> T:
        """A new config with ``{"lr": 1e-4, "lora.r": 8}`` or ``["lr=1e-4"]`` applied, type-checked."""
        data = to_mapping(self)
        items = [parse_override(t) for t in overrides] if isinstance(overrides, list) else overrides.items()
        for key, value in items:
            merge_override(data, key.split(".") if isinstance(key, str) else key, value)
        return from_mapping(type(self), data)

    def to_dict(self) -> dict[str, Any]:
        return to_mapping(self)

    def to_yaml(self, path: str | Path | None = None) -> str:
        """YAML text of every setting (written to ``path`` when given); ``from_yaml`` reads it back."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            from sftgen.io import atomic_write_text

            atomic_write_text(path, text)
        return text


def option_fields(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field[Any], Any]]:
    """``(dotted name, field, type hint)`` of each field of ``cls``, nested dataclasses walked, whose metadata
    declares a command-line option (``"option"``). Why: ``sftgen train``'s options are derived from the config
    dataclasses (``sftgen.train.commands``), so a setting, its type and its help are declared once."""
    hints = typing.get_type_hints(cls)
    found: list[tuple[str, dataclasses.Field[Any], Any]] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            found += option_fields(hint, f"{prefix}{f.name}.")
        elif "option" in f.metadata:
            found.append((prefix + f.name, f, hint))
    return found
