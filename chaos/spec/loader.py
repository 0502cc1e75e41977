"""Read experiment and target files into models, or fail with located one-line problems."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import msgspec

from chaos.spec.errors import Problem, SpecError
from chaos.spec.models import API_VERSION, Experiment, TargetSpec
from chaos.spec.struct_errors import problems
from chaos.spec.structs import Strict, ValidationError, decode
from chaos.spec.yamlsafe import Located, load_text

M = TypeVar("M", bound=Strict)


class Loaded(msgspec.Struct, frozen=True):
    """A parsed file: the model plus its located source (for semantic error positions)."""

    path: Path
    source: Located
    model: Strict


_LAST: list[tuple[str, bytes, Located]] = []  # the last file parsed (kind_of, then check)


def read_located(path: Path) -> Located:
    """Parse the file; the same name with the same bytes as the last call is not parsed
    again (`validate` reads a file's kind, then checks it: pure-Python YAML is slow)."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError.one(name, "no such file") from None
    except IsADirectoryError:
        raise SpecError.one(name, "is a directory, expected a YAML file") from None
    except OSError as exc:
        raise SpecError.one(name, f"cannot read: {exc.strerror}") from None
    if _LAST and _LAST[0][:2] == (name, raw):
        return _LAST[0][2]
    located = load_text(name, raw)
    _LAST[:] = [(name, raw, located)]
    return located


def parse(located: Located, model: type[M], kind: str) -> M:
    """Validate the plain data against `model` after checking apiVersion and kind."""
    data = located.data
    for key, want in (("apiVersion", API_VERSION), ("kind", kind)):
        got = data.get(key)
        if got != want:
            pos = located.where((key,))
            msg = "missing" if got is None else f"must be {want!r}, got {got!r}"
            if key == "kind" and got in ("Experiment", "Target"):
                msg = f"this is a {got} file, expected {kind}"
            raise SpecError(
                [Problem(located.file, msg, key, pos[0] if pos else None, pos[1] if pos else None)]
            )
    try:
        return decode(model, data)
    except ValidationError as exc:
        raise SpecError(problems(located, exc, model)) from None


def load_experiment(path: Path) -> tuple[Experiment, Located]:
    located = read_located(path)
    return parse(located, Experiment, "Experiment"), located


def load_target(path: Path) -> tuple[TargetSpec, Located]:
    located = read_located(path)
    return parse(located, TargetSpec, "Target"), located


def resolve_target_path(
    experiment_path: Path,
    name: str,
    cwd: Path | None = None,
    located: Located | None = None,
    flag: bool = False,
) -> Path:
    """NAME -> targets/NAME.yaml in cwd then beside the experiment's directory; a value
    with '/' or '.yaml' is a path relative to the experiment file. Not found: one problem
    naming the experiment file and the line of its `target` (or the `--target` flag)."""
    from chaos.spec import target_paths

    if flag and ("/" in name or name.endswith((".yaml", ".yml"))):
        raise SpecError.one("--target", f"no such file {name}")
    if "/" in name or name.endswith((".yaml", ".yml")):
        path = (experiment_path.parent / name).resolve()
        if path.is_file() or path.is_dir():  # a directory: read_located says so
            return path
        message = target_paths.no_file(experiment_path, name, path, cwd or Path.cwd())
    else:
        tried = target_paths.candidates(experiment_path, name, cwd or Path.cwd())
        for path in tried:
            if path.is_file():
                return path
        message = target_paths.no_name(name, tried)
    if flag:
        raise SpecError.one("--target", message)
    pos = located.where(("target",)) if located is not None else None
    raise SpecError.one(
        str(experiment_path),
        message,
        field="target",
        line=pos[0] if pos else None,
        col=pos[1] if pos else None,
    )
