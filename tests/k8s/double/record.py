"""The request record: every client request as (method, path, RBAC verb, resource, ...)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    verb: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    query: dict[str, str] = field(default_factory=dict)
    ts_ns: int = 0
    user: str = ""  # "kubeconfig", or "system:serviceaccount:NS:NAME" from a pod's token

    @property
    def is_write(self) -> bool:
        return self.verb in WRITE_VERBS


class Recorder:
    """Append-only, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Request] = []

    def add(self, req: Request) -> None:
        with self._lock:
            self._items.append(req)

    def all(self) -> list[Request]:
        with self._lock:
            return list(self._items)

    def mark(self) -> int:
        with self._lock:
            return len(self._items)

    def since(self, mark: int = 0) -> list[Request]:
        with self._lock:
            return self._items[mark:]


def verb_of(method: str, name: str, subresource: str, query: dict[str, str]) -> str:
    """The RBAC verb the API server would authorize this request with."""
    if subresource in ("exec", "portforward", "attach"):
        return "create"
    if method == "GET":
        if query.get("watch") in ("true", "1"):
            return "watch"
        return "get" if name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    return method.lower()


def user_of(authorization: str) -> str:
    """Who asked: the kubeconfig's token, or a pod's service account token."""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if token.startswith("double:") and token.count(":") == 2:
        _, ns, name = token.split(":")
        return f"system:serviceaccount:{ns}:{name}"
    return "kubeconfig" if token else "anonymous"


def now_ns() -> int:
    return time.time_ns()
