"""PATCH bodies: JSON merge patch (RFC 7386), a strategic merge patch subset, JSON patch."""

from __future__ import annotations

import copy
from typing import Any

MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name",
              "volumes": "name", "volumeMounts": "mountPath", "ports": "containerPort",
              "conditions": "type"}


class PatchError(ValueError):
    """The patch cannot apply (422)."""


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def strategic(target: Any, patch: Any, key: str = "") -> Any:
    """Strategic merge: like merge, but lists of known kinds merge by their merge key."""
    if isinstance(patch, list) and key in MERGE_KEYS and isinstance(target, list):
        mk = MERGE_KEYS[key]
        if all(isinstance(i, dict) and mk in i for i in [*patch, *target]):
            out = [copy.deepcopy(i) for i in target]
            for item in patch:
                if item.get("$patch") == "delete":
                    out = [i for i in out if i[mk] != item[mk]]
                    continue
                for n, old in enumerate(out):
                    if old[mk] == item[mk]:
                        out[n] = strategic(old, item)
                        break
                else:
                    out.append(copy.deepcopy(item))
            return out
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, value in patch.items():
        if k.startswith("$"):
            continue
        if value is None:
            out.pop(k, None)
        else:
            out[k] = strategic(out.get(k), value, k)
    return out


def _walk(doc: Any, pointer: str) -> tuple[Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if not parts:
        raise PatchError("empty JSON pointer")
    cur = doc
    for p in parts[:-1]:
        try:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        except (KeyError, IndexError, ValueError):
            raise PatchError(f"path {pointer} does not exist") from None
    return cur, parts[-1]


def json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 add/remove/replace/test (enough for what clients send)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parent, last = _walk(doc, op["path"])
        kind = op["op"]
        if isinstance(parent, list):
            idx = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(idx, op["value"])
            elif kind == "remove":
                parent.pop(idx)
            elif kind == "replace":
                parent[idx] = op["value"]
            elif kind == "test" and parent[idx] != op["value"]:
                raise PatchError(f"test failed at {op['path']}")
            continue
        if kind in ("add", "replace"):
            if kind == "replace" and last not in parent:
                raise PatchError(f"replace: {op['path']} does not exist")
            parent[last] = op["value"]
        elif kind == "remove":
            if last not in parent:
                raise PatchError(f"remove: {op['path']} does not exist")
            del parent[last]
        elif kind == "test":
            if parent.get(last) != op["value"]:
                raise PatchError(f"test failed at {op['path']}")
        else:
            raise PatchError(f"unsupported op {kind!r}")
    return doc


def apply(doc: dict[str, Any], body: Any, content_type: str) -> dict[str, Any]:
    """Apply a PATCH body by its content type."""
    if "json-patch" in content_type:
        if not isinstance(body, list):
            raise PatchError("a JSON patch must be a list of operations")
        return dict(json_patch(doc, body))
    if not isinstance(body, dict):
        raise PatchError("a merge patch must be an object")
    if "strategic" in content_type:
        return dict(strategic(doc, body))
    if "merge-patch" in content_type:
        return dict(merge(doc, body))
    raise PatchError(f"unsupported patch content type {content_type!r}")
