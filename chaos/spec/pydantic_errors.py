"""Turn pydantic errors into located one-line problems with did-you-mean for unknown keys."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from chaos.spec.errors import Problem, path_text
from chaos.spec.yamlsafe import Located, Path


def problems(
    located: Located, exc: ValidationError, model: type[BaseModel], prefix: Path = ()
) -> list[Problem]:
    """One Problem per error; union-branch noise dropped; positions from the YAML map."""
    out: list[Problem] = []
    seen: set[str] = set()
    errors = exc.errors(include_url=False)
    data_errors = [e for e in errors if not _wrong_branch(located, prefix, e)]
    for err in data_errors or errors:
        path, model_path = _data_path(located, prefix, tuple(err["loc"]))
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(err["loc"][-1])
            known = sorted(_fields_at(model, model_path[:-1]))
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown key{hint}; allowed: {', '.join(known)}" if known else "unknown key"
            pos = located.where(path, key=True)
        elif kind == "missing":
            message = "required field is missing"
            pos = located.where(path[:-1])
        else:
            message = _message(err)
            pos = located.where(path)
        problem = Problem(
            located.file,
            message,
            field=path_text(path) or "(top level)",
            line=pos[0] if pos else None,
            col=pos[1] if pos else None,
        )
        if str(problem) not in seen:
            seen.add(str(problem))
            out.append(problem)
    return out


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if err["type"] in ("string_pattern_mismatch",):
        msg = f"must match {err['ctx']['pattern']}"
    value = err.get("input")
    msg = msg[:1].lower() + msg[1:]
    if "got " not in msg and err["type"] not in ("value_error", "assertion_error"):
        shown = f'"{_cut(value)}"' if isinstance(value, str) else _short(value)
        msg = f"{msg}, got {shown}"
    return msg


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _data_path(located: Located, prefix: Path, loc: tuple[Any, ...]) -> tuple[Path, Path]:
    """Map a pydantic loc (with union branch tags) onto a path in the data."""
    node: Any = located.data
    for part in prefix:
        node = _child(node, part)
    path: list[str | int] = list(prefix)
    model_path: list[str | int] = []
    for part in loc:
        child = _child(node, part)
        if child is _MISSING and _branch_tag(part):
            model_path.append(part)  # a union branch tag such as 'Load' or "literal['none']"
            continue
        path.append(part)
        model_path.append(part)
        node = child
    return tuple(path), tuple(model_path)


_MISSING = object()


def _branch_tag(part: Any) -> bool:
    """pydantic names union members in `loc`; our field names are never capitalised."""
    if not isinstance(part, str) or not part:
        return False
    return part[0].isupper() or "[" in part or part.startswith(("function-", "json-or-python"))


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict) and isinstance(part, str):
        return node.get(part, _MISSING) if part in node else _MISSING
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _MISSING


def _wrong_branch(located: Located, prefix: Path, err: Any) -> bool:
    """A literal/str branch complaining about a mapping (or vice versa) is union noise."""
    path, _ = _data_path(located, prefix, tuple(err["loc"]))
    node: Any = located.data
    for part in path:
        node = _child(node, part)
    if err["type"] in ("literal_error", "string_type") and isinstance(node, (dict, list)):
        return True
    return err["type"] in ("model_type", "model_attributes_type", "dict_type") and isinstance(
        node, str
    )


def _fields_at(model: type[BaseModel], model_path: Path) -> set[str]:
    """Field names (aliases preferred) of the model reached along `model_path`."""
    candidates: list[type[BaseModel]] = [model]
    for part in model_path:
        if isinstance(part, int):
            continue
        nxt: list[type[BaseModel]] = []
        for cls in candidates:
            if part == cls.__name__:
                nxt.append(cls)
                continue
            for name, info in cls.model_fields.items():
                if part in (name, info.alias):
                    nxt.extend(_models_in(info.annotation))
        if not nxt:
            return set()
        candidates = nxt
    names: set[str] = set()
    for cls in candidates:
        names.update(info.alias or name for name, info in cls.model_fields.items())
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or args:
        return [m for a in args for m in _models_in(a)]
    return []
