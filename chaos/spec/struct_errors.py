"""Turn a msgspec ValidationError into a located one-line problem, in the words of a file
author: `faults[0].duration: must be a duration like 30s, got "3o s"`, did-you-mean for
unknown keys, the allowed values of a choice."""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

import msgspec

from chaos.spec.errors import Problem, path_text
from chaos.spec.yamlsafe import Located, Path

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<key>key` in `)?(?P<path>\$[^`]*)`)?$", re.S)
_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\.\.\.\]")
_UNKNOWN = re.compile(r"^Object contains unknown field `(.*)`$", re.S)
_MISSING = re.compile(r"^Object missing required field `(.*)`$", re.S)
_BOUND = re.compile(r"^Expected `\w+` (>=|<=|>|<) (\S+)$")
_REGEX = re.compile(r"^Expected `str` matching regex '(.*)'$", re.S)
_TYPE = re.compile(r"^Expected `(\w+)`, got `(\w+)`$")
_NAMES = {"object": "a mapping", "array": "a list", "str": "text", "null": "null"}


def problems(
    located: Located, exc: msgspec.ValidationError, model: type, prefix: Path = ()
) -> list[Problem]:
    """The one problem msgspec reports, positioned from the YAML map of `located`."""
    match = _AT.match(str(exc))
    assert match is not None  # the pattern matches any text
    raw = match.group("msg").strip()
    rel, in_values = _path(match.group("path") or "$")
    path: Path = (*prefix, *rel)
    pos = located.where(path)
    if unknown := _UNKNOWN.match(raw):
        key = unknown.group(1)
        known = sorted(_fields(_types_at(model, rel)))
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        message = f"unknown key{hint}; allowed: {', '.join(known)}" if known else "unknown key"
        path = (*path, key)
        pos = located.where(path, key=True)
    elif missing := _MISSING.match(raw):
        pos = located.where(path)
        path = (*path, missing.group(1))
        message = "required field is missing"
    elif in_values:  # msgspec does not say which key of a map holds the bad value
        want = raw.partition(", got")[0].removeprefix("Expected ").replace("`", "")
        message = f"every value must be {want}"
    else:
        value = _value_at(located.data, path)
        message = _message(raw, value, _types_at(model, rel), bool(match.group("key")))
    return [
        Problem(
            located.file,
            message,
            field=path_text(path) or "(top level)",
            line=pos[0] if pos else None,
            col=pos[1] if pos else None,
        )
    ]


def _message(raw: str, value: Any, types_here: list[Any], in_key: bool) -> str:
    got = _show(value)
    if in_key:
        return f"keys must be text, got {raw.rpartition('got ')[2].strip('`')}"
    if raw.startswith("Invalid enum value"):
        return f"must be {_choices(types_here)}, got {got}"
    if bound := _BOUND.match(raw):
        return f"must be {bound.group(1)} {bound.group(2)}, got {got}"
    if regex := _REGEX.match(raw):
        return f"must match {regex.group(1)}, got {got}"
    if wrong := _TYPE.match(raw):
        want = _NAMES.get(wrong.group(1), wrong.group(1))
        if wrong.group(1) == "object" and any(
            typing.get_origin(t) is typing.Literal for t in types_here
        ):
            want = _choices(types_here)
        return f"expected {want}, got {got}"
    return raw  # a hook or a __post_init__ speaking in its own words


def _choices(types_here: list[Any]) -> str:
    """`one of 'a', 'b'` (plus `a mapping` when a record is allowed too)."""
    values: list[str] = []
    mapping = False
    for t in types_here:
        for arm in _arms(t):
            if typing.get_origin(arm) is typing.Literal:
                values.extend(repr(v) for v in typing.get_args(arm))
            elif isinstance(arm, type) and issubclass(arm, msgspec.Struct):
                mapping = True
    if not values:
        text = "a valid choice"
    else:
        text = values[0] if len(values) == 1 else f"one of {', '.join(values)}"
    return f"a mapping or {text}" if mapping else text


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 60 else f'"{value[:57]}..."'
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = "null" if value is None else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _path(text: str) -> tuple[Path, bool]:
    """`$.faults[2].duration` -> ('faults', 2, 'duration'); a map's value (`[...]`) ends
    the path, and the flag says the error is in one of that map's values."""
    parts: list[str | int] = []
    for m in _PART.finditer(text.removeprefix("$")):
        if m.group(1) is not None:
            parts.append(m.group(1))
        elif m.group(2) is not None:
            parts.append(int(m.group(2)))
        else:
            return tuple(parts), True
    return tuple(parts), False


def _value_at(data: Any, path: Path) -> Any:
    for part in path:
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if in_list or (isinstance(data, dict) and part in data):
            data = data[part]
        else:
            return None
    return data


def _arms(annotation: Any) -> list[Any]:
    """The alternatives of a union (Annotated unwrapped); a non-union is its own arm."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _arms(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _arms(arg)]
    return [annotation]


def _types_at(model: type, path: Path) -> list[Any]:
    """Every type the schema allows at `path` (several when a union is on the way)."""
    current: list[Any] = [model]
    for part in path:
        nxt: list[Any] = []
        for t in current:
            for arm in _arms(t):
                if isinstance(arm, type) and issubclass(arm, msgspec.Struct):
                    nxt.extend(f.type for f in msgspec.structs.fields(arm) if f.encode_name == part)
                elif isinstance(part, int) and typing.get_origin(arm) in (list, tuple):
                    nxt.extend(typing.get_args(arm)[:1])
                elif typing.get_origin(arm) is dict:
                    nxt.extend(typing.get_args(arm)[1:])
        current = nxt
    return current


def _fields(types_here: list[Any]) -> set[str]:
    names: set[str] = set()
    for t in types_here:
        for arm in _arms(t):
            if isinstance(arm, type) and issubclass(arm, msgspec.Struct):
                names.update(f.encode_name for f in msgspec.structs.fields(arm))
    return names
