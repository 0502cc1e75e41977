"""JSON in and out of the API, shaped like the real server's (field order, Go decoder errors)."""

from __future__ import annotations

import json
from typing import Any

from chaos.proxy.state import ApiError, ProxyState
from chaos.proxy.toxics.base import ToxicConfig

_JSON_START = set('{["-0123456789tfn')


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def bad(message: str) -> ApiError:
    return ApiError(400, f"bad request body: {message}")


def decode(raw: bytes) -> Any:
    """Parse a request body; errors read like Go's encoding/json."""
    text = raw.decode("utf-8", errors="replace")
    stripped = text.strip()
    if not stripped:
        raise bad("EOF")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        first = stripped[0]
        if first not in _JSON_START:
            raise bad(f"invalid character {first!r} looking for beginning of value") from None
        msg = str(exc).split(":")[0]
        if "Expecting" in msg and getattr(exc, "pos", 0) >= len(text.rstrip()):
            raise bad("unexpected EOF") from None
        raise bad(f"invalid JSON: {msg}") from None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _mismatch(value: Any, where: str, go_type: str) -> ApiError:
    kind = _kind(value)
    return bad(f"json: cannot unmarshal {kind} into Go struct field {where} of type {go_type}")


def require_object(value: Any, go_type: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(f"json: cannot unmarshal {_kind(value)} into Go value of type {go_type}")
    return value


def proxy_fields(value: Any) -> dict[str, Any]:
    """The known fields of a proxy body, type-checked; null means absent (as in Go)."""
    obj = require_object(value, "toxiproxy.Proxy")
    out: dict[str, Any] = {}
    for key in ("name", "listen", "upstream"):
        if obj.get(key) is not None:
            if not isinstance(obj[key], str):
                raise _mismatch(obj[key], f"Proxy.{key}", "string")
            out[key] = obj[key]
    if obj.get("enabled") is not None:
        if not isinstance(obj["enabled"], bool):
            raise _mismatch(obj["enabled"], "Proxy.enabled", "bool")
        out["enabled"] = obj["enabled"]
    return out


def toxic_fields(value: Any) -> dict[str, Any]:
    obj = require_object(value, "toxiproxy.Toxic")
    out: dict[str, Any] = {}
    for key in ("name", "type", "stream"):
        if obj.get(key) is not None:
            if not isinstance(obj[key], str):
                raise _mismatch(obj[key], f"Toxic.{key}", "string")
            out[key] = obj[key]
    tox = obj.get("toxicity")
    if tox is not None:
        if isinstance(tox, bool) or not isinstance(tox, int | float):
            raise _mismatch(tox, "Toxic.toxicity", "float32")
        out["toxicity"] = float(tox)
    attrs = obj.get("attributes")
    if attrs is not None:
        if not isinstance(attrs, dict):
            raise bad(f"json: cannot unmarshal {_kind(attrs)} into Go value of type toxics.Toxic")
        out["attributes"] = attrs
    return out


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def toxic_json(t: ToxicConfig) -> dict[str, Any]:
    return {
        "attributes": dict(t.attributes),
        "name": t.name,
        "type": t.type,
        "stream": t.stream,
        "toxicity": _number(t.toxicity),
    }


def proxy_json(p: ProxyState) -> dict[str, Any]:
    return {
        "name": p.name,
        "listen": p.listen,
        "upstream": p.upstream,
        "enabled": p.enabled,
        "toxics": [toxic_json(t) for t in p.listing()],
    }
