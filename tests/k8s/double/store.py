"""The object store: UIDs, resourceVersions, generations, and a watch event log."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# resource -> (apiVersion, kind, namespaced)
RESOURCES: dict[str, tuple[str, str, bool]] = {
    "namespaces": ("v1", "Namespace", False),
    "pods": ("v1", "Pod", True),
    "services": ("v1", "Service", True),
    "endpoints": ("v1", "Endpoints", True),
    "secrets": ("v1", "Secret", True),
    "configmaps": ("v1", "ConfigMap", True),
    "serviceaccounts": ("v1", "ServiceAccount", True),
    "events": ("v1", "Event", True),
    "persistentvolumeclaims": ("v1", "PersistentVolumeClaim", True),
    "deployments": ("apps/v1", "Deployment", True),
    "replicasets": ("apps/v1", "ReplicaSet", True),
    "statefulsets": ("apps/v1", "StatefulSet", True),
}
KINDS = {kind: res for res, (_, kind, _) in RESOURCES.items()}
Obj = dict[str, Any]


class ApiError(Exception):
    """Answered as a Status object with this code and reason."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED MODIFIED DELETED
    resource: str
    obj: Obj


class Store:
    """Thread-safe; every change gets the next resourceVersion and one watch event."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objs: dict[tuple[str, str, str], Obj] = {}
        self._rv = 0
        self.events: list[Event] = []
        self._listeners: list[Callable[[Event], None]] = []
        self.admit: Callable[[str, Obj], None] | None = None  # defaults set on create

    # ------------------------------------------------------------------ reads
    @property
    def rv(self) -> int:
        return self._rv

    def get(self, resource: str, ns: str, name: str) -> Obj | None:
        with self._lock:
            obj = self._objs.get((resource, ns, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: str, ns: str | None = None,
             pred: Callable[[Obj], bool] | None = None) -> list[Obj]:
        with self._lock:
            keys = sorted(k for k in self._objs if k[0] == resource and (ns is None or k[1] == ns))
            found = [copy.deepcopy(self._objs[k]) for k in keys]
        found = [o for o in found if pred is None or pred(o)]
        return found

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call `listener` (under the store lock: keep it short) on every event."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._unsubscribe(listener)

    def _unsubscribe(self, listener: Callable[[Event], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def since(self, resource: str, rv: int) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.rv > rv and e.resource == resource]

    # ------------------------------------------------------------------ writes
    def _emit(self, type_: str, resource: str, obj: Obj) -> None:
        event = Event(self._rv, type_, resource, copy.deepcopy(obj))
        self.events.append(event)
        for listener in list(self._listeners):
            listener(event)

    def create(self, resource: str, ns: str, obj: Obj) -> Obj:
        api_version, kind, namespaced = RESOURCES[resource]
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        with self._lock:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            name = meta.get("name")
            if not name:
                raise ApiError(422, "Invalid", f"{kind}: metadata.name: Required value")
            key = (resource, ns if namespaced else "", name)
            if namespaced and ns != "" and ("namespaces", "", ns) not in self._objs:
                raise ApiError(404, "NotFound", f'namespaces "{ns}" not found')
            if key in self._objs:
                raise ApiError(409, "AlreadyExists", f'{resource} "{name}" already exists')
            if namespaced:
                meta["namespace"] = ns
            if self.admit is not None:
                self.admit(resource, obj)
            self._rv += 1
            obj["apiVersion"], obj["kind"] = api_version, kind
            meta.update(uid=str(uuid.uuid4()), resourceVersion=str(self._rv),
                        creationTimestamp=now_iso(), generation=1)
            meta.setdefault("labels", {})
            meta.setdefault("annotations", {})
            self._objs[key] = obj
            self._emit("ADDED", resource, obj)
            return copy.deepcopy(obj)

    def update(self, resource: str, ns: str, name: str, obj: Obj,
               expect_rv: str | None = None, internal: bool = False) -> Obj:
        """Replace an object (keeps uid/creation); bumps generation when spec changes."""
        with self._lock:
            key = (resource, ns if RESOURCES[resource][2] else "", name)
            old = self._objs.get(key)
            if old is None:
                raise ApiError(404, "NotFound", f'{resource} "{name}" not found')
            if expect_rv and expect_rv != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource} '
                               f'"{name}": the object has been modified')
            new = copy.deepcopy(obj)
            meta = new.setdefault("metadata", {})
            fixed = ["uid", "creationTimestamp", "namespace", "name"]
            if not internal:  # only the API server itself starts a graceful deletion
                fixed += ["deletionTimestamp", "deletionGracePeriodSeconds"]
            for field in fixed:
                if field in old["metadata"]:
                    meta[field] = old["metadata"][field]
                else:
                    meta.pop(field, None)
            new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
            gen = old["metadata"].get("generation", 1)
            meta["generation"] = gen + 1 if new.get("spec") != old.get("spec") else gen
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            if new == old:
                return copy.deepcopy(old)  # no change, no event (as the API server)
            self._rv += 1
            meta["resourceVersion"] = str(self._rv)
            self._objs[key] = new
            self._emit("MODIFIED", resource, new)
            return copy.deepcopy(new)

    def mutate(self, resource: str, ns: str, name: str,
               change: Callable[[Obj], None]) -> Obj | None:
        """Read-modify-write under the lock (controllers); None if gone."""
        with self._lock:
            cur = self.get(resource, ns, name)
            if cur is None:
                return None
            change(cur)
            return self.update(resource, ns, name, cur, internal=True)

    def delete(self, resource: str, ns: str, name: str) -> Obj:
        with self._lock:
            key = (resource, ns if RESOURCES[resource][2] else "", name)
            old = self._objs.pop(key, None)
            if old is None:
                raise ApiError(404, "NotFound", f'{resource} "{name}" not found')
            self._rv += 1
            old["metadata"]["resourceVersion"] = str(self._rv)
            self._emit("DELETED", resource, old)
            return copy.deepcopy(old)
