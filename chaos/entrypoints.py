"""Entry points read straight from the metadata directories on sys.path.

`importlib.metadata.entry_points()` costs ~80 ms of start-up (it imports email, zipfile,
csv, pathlib... and parses every distribution), so every `validate` paid for it. This reader
walks the same places in the same order (each sys.path entry, its `*.dist-info` and
`*.egg-info` directories, the first distribution of a given normalised name wins) and keeps
only the groups we ask for. It uses nothing but os and sys.

Not covered, on purpose: distributions inside zip files on sys.path and legacy `.egg`
directories (neither is produced by pip), and finders on sys.meta_path that serve their
own metadata.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

Table = dict[str, dict[str, "EntryPoint"]]  # group -> name -> entry point


class EntryPoint:
    """One `name = value` line of a `[group]` section; read-only, like importlib's."""

    __slots__ = ("group", "name", "value")
    name: str
    value: str  # `module:attr.sub [extras]`
    group: str

    def __init__(self, name: str, value: str, group: str) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "group", group)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"EntryPoint is read-only (cannot set {key!r})")

    def _key(self) -> tuple[str, str, str]:
        return (self.name, self.value, self.group)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EntryPoint) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"

    def load(self) -> Any:
        """Import the module and follow the attribute chain (extras are ignored)."""
        import importlib

        module, _, attrs = self.value.partition("[")[0].partition(":")
        obj: Any = importlib.import_module(module.strip())
        for attr in attrs.strip().split("."):
            if attr:
                obj = getattr(obj, attr)
        return obj


def normalize(name: str) -> str:
    """PEP 503 name as importlib.metadata keys it: lower case, runs of `-_.` become `_`."""
    name = name.lower().replace("-", "_").replace(".", "_")
    while "__" in name:
        name = name.replace("__", "_")
    return name


def read(prefix: str, path: Iterable[object] | None = None) -> Table:
    """Entry points of every group starting with `prefix`, from the distributions on
    `path` (default sys.path). Within a group the first name seen wins, as with imports."""
    table: Table = {}
    seen: set[str] = set()
    for entry in sys.path if path is None else path:
        for info in _metadata_dirs(entry, seen):
            text = _read_text(os.path.join(info, "entry_points.txt"))
            for group, name, value in parse(text, prefix):
                table.setdefault(group, {}).setdefault(name, EntryPoint(name, value, group))
    return table


def _metadata_dirs(entry: object, seen: set[str]) -> Iterator[str]:
    """The metadata directories in one sys.path entry of distributions not `seen` yet."""
    if not isinstance(entry, str):
        return  # importlib.metadata also accepts only str paths
    try:
        children = os.listdir(entry or ".")
    except (OSError, ValueError):  # missing, a file (zip), unreadable, NUL in the name
        return
    for child in children:
        low = child.lower()
        if not low.endswith((".dist-info", ".egg-info")):
            continue
        key = normalize(low.rpartition(".")[0].partition("-")[0])
        if key not in seen:
            seen.add(key)  # even if unreadable: it shadows later copies, as in importlib
            yield os.path.join(entry, child)


def _read_text(file: str) -> str:
    try:
        with open(file, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):  # no entry points, or not readable as text
        return ""


def parse(text: str, prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(group, name, value) for each `name = value` line under a `[group]` starting with
    `prefix`. Blank lines, `#`/`;` comments and lines without `=` are skipped."""
    group: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[" and line[-1] == "]":
            group = line.strip("[]")  # exactly what importlib.metadata does
            continue
        if group is None or not group.startswith(prefix):
            continue
        name, eq, value = line.partition("=")
        if eq and name.strip():
            yield group, name.strip(), value.strip()
