"""Safe YAML to plain data plus a map of where every value came from (line, column).

We compose the node graph ourselves (PyYAML over libyaml, the C parser) instead of loading,
so that object-building tags, duplicate keys and alias bombs are refused before any value
is built, and every error can point at a line. Scalars are read as YAML 1.2 (core schema,
as ruamel.yaml did before): `yes`/`on` stay text, `0777` is 777, `1:30` is text.
"""

from __future__ import annotations

from typing import Any

import msgspec

from chaos.spec.errors import SpecError, path_text

Path = tuple[str | int, ...]
MAX_NODES = 100_000  # values built, counting every alias expansion
MAX_BYTES = 2_000_000
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SCALARS = {_NULL, _BOOL, _INT, _FLOAT, _STR, _TIMESTAMP}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"

# YAML 1.2 implicit resolvers, in ruamel.yaml's order and with its patterns (tag, regular
# expression in re.X syntax, first characters). PyYAML's own are YAML 1.1.
_CORE_SCHEMA = [
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (
        _FLOAT,
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        "-+0123456789.",
    ),
    (
        _INT,
        r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$",
        "-+0123456789",
    ),
    (_MERGE, r"^(?:<<)$", "<"),
    (_NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (
        _TIMESTAMP,
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        "0123456789",
    ),
    ("tag:yaml.org,2002:value", r"^(?:=)$", "="),  # resolved only to be refused
]
_LOADER: Any = None  # the loader class, built on first use (importing yaml costs start-up)


class Located(msgspec.Struct):
    """Plain data (dict/list/str/int/float/bool/None) and the source position of each path."""

    file: str
    data: Any
    value_at: dict[Path, tuple[int, int]] = msgspec.field(default_factory=dict)
    key_at: dict[Path, tuple[int, int]] = msgspec.field(default_factory=dict)

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
    import yaml

    try:
        loader = _loader_class()(text)  # the pure-Python reader checks characters here
        docs = []
        while loader.check_node():
            docs.append(loader.get_node())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = (exc.problem or exc.context or "invalid YAML").strip()
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise SpecError.one(file, f"not valid YAML: {msg}", line=line, col=col) from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
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
    out.data = _Builder(out, loader).build(root, ())
    return out


def _loader_class() -> Any:
    """PyYAML's safe loader (libyaml when present) with YAML 1.2 scalars, and anchors that
    may be defined again as in YAML 1.2 (an alias means the latest definition)."""
    global _LOADER
    if _LOADER is None:
        import re

        import yaml

        base = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
        composer = yaml.composer.Composer

        def init(self: Any, stream: str) -> None:
            base.__init__(self, stream)
            composer.__init__(self)

        def compose_node(self: Any, parent: Any, index: Any) -> Any:
            if not self.check_event(yaml.AliasEvent):
                self.anchors.pop(self.peek_event().anchor, None)
            return composer.compose_node(self, parent, index)

        # The Python composer over the C parser's events: libyaml's own composer refuses
        # a repeated anchor, and composing costs little next to parsing.
        bases = (composer, base) if composer not in base.__mro__ else (base,)
        # an empty table of its own drops the YAML 1.1 resolvers PyYAML would inherit
        namespace = {
            "__init__": init,
            "compose_node": compose_node,
            "yaml_implicit_resolvers": {},
        }
        loader: Any = type("CoreSchemaLoader", bases, namespace)
        for tag, pattern, first in _CORE_SCHEMA:
            loader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))
        _LOADER = loader
    return _LOADER


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _int(text: str) -> int:
    """YAML 1.2 as ruamel.yaml reads it: 0b/0o/0x prefixes, `_` ignored, `0777` is 777."""
    digits = text.replace("_", "")
    sign = -1 if digits[:1] == "-" else 1
    digits = digits[1:] if digits[:1] in ("-", "+") else digits
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)


def _float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1 if digits[:1] == "-" else 1
    digits = digits[1:] if digits[:1] in ("-", "+") else digits
    if digits == ".nan":
        return float("nan")
    return sign * float("inf" if digits == ".inf" else digits)


# ruamel.yaml's table, for an explicit !!bool: a plain yes/on/y stays text (YAML 1.2)
_BOOLS = dict(true=True, false=False, yes=True, no=False, y=True, n=False, on=True, off=False)


def _bool(text: str) -> bool:
    if text.lower() not in _BOOLS:
        raise ValueError("expected true or false")
    return _BOOLS[text.lower()]


def _timestamp(loader: Any, node: Any) -> str:
    """As text, the way ruamel.yaml printed its date/datetime (7th fraction digit rounds)."""
    import datetime

    match = loader.timestamp_regexp.match(node.value)
    if match is None:
        raise ValueError("expected a date like 2024-01-31 or a date and time")
    value = loader.construct_yaml_timestamp(node)  # PyYAML truncates to microseconds
    fraction = match.group("fraction") or ""
    if len(fraction) > 6 and fraction[6] > "4":
        value += datetime.timedelta(microseconds=1)
    return str(value)


_READERS: dict[str, Any] = {
    _NULL: lambda text: None,
    _BOOL: _bool,
    _INT: _int,
    _FLOAT: _float,
    _STR: str,
}


class _Builder:
    def __init__(self, out: Located, loader: Any) -> None:
        self.out = out
        self.count = 0
        self.active: set[int] = set()
        self.loader = loader

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
        return self.scalar(node, path)

    def scalar(self, node: Any, path: Path) -> Any:
        """str, int, float, bool or None; a timestamp stays text."""
        try:
            if node.tag == _TIMESTAMP:
                return _timestamp(self.loader, node)
            return _READERS[node.tag](node.value)
        except ValueError as exc:  # e.g. 2024-02-30, !!int x
            raise self.fail(
                node,
                path,
                f"not valid YAML: {node.value!r} is not a valid {_short(node.tag)}"
                f" ({_first_line(exc)})",
            ) from None

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
            key = self.scalar(key_node, path)
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
