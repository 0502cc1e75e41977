"""Where `target: NAME` is looked for, and what to say when it is not there: each place
once, the names that do exist, and for a path the one the user probably meant."""

from __future__ import annotations

import os
from pathlib import Path


def candidates(experiment_path: Path, name: str, cwd: Path) -> list[Path]:
    """targets/NAME.yaml in cwd, then beside the experiment's directory; each place once
    (run from the project root, both are the same folder)."""
    here = cwd / "targets" / f"{name}.yaml"
    beside = experiment_path.resolve().parent.parent / "targets" / f"{name}.yaml"
    return [here] if _same(here, beside) else [here, beside]


def no_name(name: str, tried: list[Path]) -> str:
    known = sorted({p.stem for path in tried if path.parent.is_dir()
                    for p in path.parent.glob("*.y*ml") if p.suffix in (".yaml", ".yml")})
    import difflib  # only for the message

    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    looked = " and ".join(_shown(p) for p in tried)
    listing = f"; known: {', '.join(known)}" if known else ""
    return f"{name} not found{hint}; looked for {looked}{listing}"


def no_file(experiment_path: Path, name: str, path: Path, cwd: Path) -> str:
    """A path target is relative to the experiment file's folder; if the user wrote one
    relative to the working directory, say what to write instead."""
    message = f"no such file {_shown(path)} (a path is relative to the experiment file)"
    from_cwd = (cwd / name).resolve()
    if from_cwd.is_file():
        fixed = os.path.relpath(from_cwd, experiment_path.resolve().parent)
        message += f"; did you mean target: {fixed}?"
    return message


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _shown(path: Path) -> str:
    """Relative to the working directory when inside it: shorter, and what users typed."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
