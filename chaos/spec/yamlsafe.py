"""Safe YAML to plain data plus a map of where every value came from (line, column).

We compose the node graph ourselves (ruamel, pure Python) instead of loading, so that
object-building tags, duplicate keys and alias bombs are refused before any value is
built, and every error can point at a line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaos.spec.errors import SpecError, path_text

Path = tuple[str | int, ...]
MAX_NODES = 100_000  # values built, counting every alias expansion
MAX_BYTES = 2_000_000
_SCALARS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:timestamp",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


@dataclass
class Located:
    """Plain data (dict/list/str/int/float/bool/None) and the source position of each path."""

    file: str
    data: Any
    value_at: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_at: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path, key: bool = False) -> tuple[int, int] | None:
        """Position of the deepest known prefix of `path` (1-based line, column)."""
        for n in range(len(path), -1, -1):
            prefix = path[:n]
            table = self.key_at if key and n == len(path) else self.value_at
            if prefix in table:
                return table[prefix]
        return None


def load_text(file: str, raw: bytes) -> Located:
    """Parse `raw` (the file's bytes) or raise SpecError with one clear line."""
    if len(raw) > MAX_BYTES:
        raise SpecError.one(file, f"file too large ({len(raw)} bytes; limit {MAX_BYTES})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError.one(
            file, f"not UTF-8 text (byte {exc.start}): is this a YAML file?"
        ) from None
    if "\x00" in text:
        raise SpecError.one(file, "contains NUL bytes: is this a YAML file?")
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise SpecError.one(file, "empty file: expected a YAML mapping with apiVersion and kind")
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="safe", pure=True)
    try:
        docs = list(yaml.compose_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = (exc.problem or exc.context or "invalid YAML").strip()
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise SpecError.one(file, f"not valid YAML: {msg}", line=line, col=col) from None
    except (YAMLError, ValueError, RecursionError) as exc:
        raise SpecError.one(file, f"not valid YAML: {_first_line(exc)}") from None
    docs = [d for d in docs if d is not None]
    if not docs:
        raise SpecError.one(file, "empty file: expected a YAML mapping with apiVersion and kind")
    if len(docs) > 1:
        line = docs[1].start_mark.line + 1
        raise SpecError.one(file, "more than one YAML document; put one per file", line=line)
    root = docs[0]
    if root.tag != _MAP:
        kind = "a list" if root.tag == _SEQ else "a single value"
        raise SpecError.one(
            file, f"top level is {kind}; expected a mapping with apiVersion and kind", line=1, col=1
        )
    out = Located(file, None)
    out.data = _Builder(out, yaml.constructor).build(root, ())
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _Builder:
    def __init__(self, out: Located, constructor: Any) -> None:
        self.out = out
        self.count = 0
        self.active: set[int] = set()
        self.constructor = constructor

    def fail(self, node: Any, path: Path, message: str) -> SpecError:
        mark = node.start_mark
        return SpecError.one(
            self.out.file, message, field=path_text(path), line=mark.line + 1, col=mark.column + 1
        )

    def build(self, node: Any, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, path, f"more than {MAX_NODES} values (alias bomb?); refused")
        if id(node) in self.active:
            raise self.fail(node, path, "recursive alias; refused")
        self.out.value_at.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag == _MAP:
            self.active.add(id(node))
            try:
                return self.mapping(node, path)
            finally:
                self.active.discard(id(node))
        if node.tag == _SEQ:
            self.active.add(id(node))
            try:
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        if node.tag not in _SCALARS:
            raise self.fail(
                node, path, f"YAML tag {_short(node.tag)} is not allowed (plain data only)"
            )
        value = self.constructor.construct_object(node, deep=True)
        if not isinstance(value, (str, int, float, bool, type(None))):
            value = str(value)  # timestamps stay text; durations are text too
        return value

    def mapping(self, node: Any, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                source = self.build(value_node, path)
                sources = source if isinstance(source, list) else [source]
                for item in sources:
                    if not isinstance(item, dict):
                        raise self.fail(value_node, path, "merge key (<<) needs a mapping")
                    for k, v in item.items():
                        merged.setdefault(k, v)
                continue
            if key_node.tag not in _SCALARS:
                raise self.fail(key_node, path, "keys must be plain text")
            key = self.constructor.construct_object(key_node, deep=True)
            key = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
            sub = (*path, key)
            mark = key_node.start_mark
            if key in result:
                first = self.out.key_at[sub][0]
                raise self.fail(key_node, sub, f"duplicate key (first defined on line {first})")
            self.out.key_at[sub] = (mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, sub)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag
