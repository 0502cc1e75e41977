"""Label and field selectors, parsed the way the API server parses them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]

_TERM = re.compile(
    r"\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9._/-]+)\s*"
    r"(?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*(?P<val>\([^)]*\)|[A-Za-z0-9._-]*))?\s*$"
)


class SelectorError(ValueError):
    """A selector the API server would refuse (400 BadRequest)."""


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # exists, !exists, =, !=, in, notin
    values: frozenset[str] = frozenset()

    def __call__(self, labels: dict[str, str]) -> bool:
        has, value = self.key in labels, labels.get(self.key)
        return {"exists": has, "!exists": not has, "=": has and value in self.values,
                "!=": value not in self.values, "in": has and value in self.values,
                "notin": value not in self.values}[self.op]


def parse_labels(text: str | None) -> list[Requirement]:
    """`a=b,c!=d,e in (x,y),f notin (z),g,!h` -> requirements (all must hold)."""
    reqs = []
    for term in _split(text or ""):
        m = _TERM.match(term)
        if m is None:
            raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
        key, op, val, neg = m["key"], (m["op"] or "").strip(), m["val"] or "", m["neg"]
        if neg and op:
            raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
        if not op:
            reqs.append(Requirement(key, "!exists" if neg else "exists"))
        elif op in ("=", "==", "!="):
            reqs.append(Requirement(key, "!=" if op == "!=" else "=", frozenset({val})))
        else:
            if not val.startswith("("):
                raise SelectorError(f"{op} needs a parenthesised set: {term.strip()!r}")
            values = frozenset(v.strip() for v in val[1:-1].split(",") if v.strip())
            reqs.append(Requirement(key, op, values))
    return reqs


def label_selector(text: str | None) -> Callable[[dict[str, str]], bool]:
    reqs = parse_labels(text)
    return lambda labels: all(r(labels) for r in reqs)


def _field(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


FIELDS = ("metadata.name", "metadata.namespace", "status.phase", "spec.nodeName")


def field_selector(text: str | None) -> Matcher:
    """`metadata.name=x,status.phase!=Failed` -> predicate over an object."""
    tests: list[tuple[str, bool, str]] = []
    for term in _split(text or ""):
        m = re.match(r"\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if m is None or m[1] not in FIELDS:
            raise SelectorError(f"field label not supported: {term.strip()!r}")
        tests.append((m[1], m[2] == "!=", m[3]))
    return lambda obj: all((_field(obj, p) == v) != neg for p, neg, v in tests)


def matcher(labels: str | None, fields: str | None) -> Matcher:
    """Both selectors over one object."""
    by_label, by_field = label_selector(labels), field_selector(fields)
    return lambda o: by_label(o.get("metadata", {}).get("labels") or {}) and by_field(o)


def selector_dict(sel: dict[str, Any] | None) -> Callable[[dict[str, str]], bool]:
    """A LabelSelector object (matchLabels + matchExpressions) -> predicate."""
    sel = sel or {}
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    reqs = [Requirement(k, "=", frozenset({v})) for k, v in (sel.get("matchLabels") or {}).items()]
    reqs += [Requirement(e["key"], ops[e["operator"]], frozenset(e.get("values") or []))
             for e in sel.get("matchExpressions") or []]
    return lambda labels: all(r(labels) for r in reqs)
