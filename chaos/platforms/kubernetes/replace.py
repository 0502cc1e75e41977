"""pod.kill on the API: delete with a grace period and a UID precondition, then one watch
until the victim's UID is gone and a new Ready pod of the same owner is there.

The watch starts at the resourceVersion of the list the victim was picked from (else the
delete's), so nothing between the delete and the watch is missed: a ReplicaSet's
replacement arrives as ADDED under a new name, a StatefulSet's under the same name with a
new UID.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubernetes import client
from kubernetes import watch as watch_mod

from chaos.platforms.base import PlatformError, Pod
from chaos.platforms.kubernetes.client import ApiException, reason
from chaos.platforms.kubernetes.pods import is_live, is_ready, owner_uid

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.client import Cluster

log = logging.getLogger(__name__)


@dataclass
class Killed:
    """What the delete told us, for the watch that verifies it."""

    uid: str
    owner: str | None
    selector: str
    resource_version: str | None
    at: float = field(default_factory=time.time)


def delete(cluster: Cluster, pod: Pod, grace_s: float, selector: str,
           listed_rv: str | None = None) -> Killed:
    answer: Any
    body = client.V1DeleteOptions(
        grace_period_seconds=max(0, round(grace_s)),
        preconditions=client.V1Preconditions(uid=pod.uid) if pod.uid else None,
    )
    try:
        answer = cluster.core.delete_namespaced_pod(pod.name, pod.namespace, body=body)
    except ApiException as exc:
        if exc.status == 404:
            raise PlatformError(f"pod {pod.name} is gone already") from None
        if exc.status == 409:
            raise PlatformError(f"pod {pod.name} has another UID now (replaced)") from None
        raise PlatformError(f"delete pod {pod.name}: {reason(exc)}") from None
    meta = getattr(answer, "metadata", None)
    rv = getattr(meta, "resource_version", None)
    owner = owner_uid(answer) if isinstance(answer, client.V1Pod) else None
    start = listed_rv or (str(rv) if rv else None)
    return Killed(str(pod.uid), owner, selector, start)


def restarts(obj: Any) -> int:
    statuses = (obj.status.container_statuses if obj.status else None) or []
    return sum(int(c.restart_count or 0) for c in statuses)


class _Progress:
    """What the events so far prove: the victim gone (or restarted in place), a new pod."""

    def __init__(self, old: Pod, killed: Killed) -> None:
        self.old, self.killed = old, killed
        self.owner = killed.owner
        self.gone = False
        self.fresh: set[str] = set()
        self.replacement = ""

    def see(self, kind: str, obj: Any) -> bool:
        uid = obj.metadata.uid
        log.debug("watch %s %s uid %s ready %s owner %s", kind, obj.metadata.name, uid,
                  is_ready(obj), owner_uid(obj))
        if uid == self.killed.uid:
            self.owner = self.owner or owner_uid(obj)
            if kind == "DELETED":
                self.gone = True
            elif restarts(obj) > self.old.restarts and is_ready(obj) and is_live(obj):
                self.gone, self.replacement = True, obj.metadata.name  # restarted in place
        elif kind == "ADDED":
            self.fresh.add(uid)
            if obj.metadata.name == self.old.name:  # a StatefulSet's pod comes back when
                self.gone = True  # the old one is gone
        if (uid in self.fresh and kind != "DELETED" and is_ready(obj) and is_live(obj)
                and (self.owner is None or owner_uid(obj) == self.owner)):
            self.replacement = obj.metadata.name
        return self.gone and bool(self.replacement)


def wait(cluster: Cluster, old: Pod, killed: Killed, timeout_s: float) -> str:
    """The name of the Ready replacement (a pod restarted in place keeps its name);
    PlatformError naming what did not happen."""
    deadline = time.monotonic() + timeout_s
    state = _Progress(old, killed)
    rv = killed.resource_version
    while time.monotonic() < deadline:
        if rv is None:  # no resourceVersion from the delete: one list to start from
            listed = cluster.core.list_namespaced_pod(old.namespace,
                                                      label_selector=killed.selector)
            rv = listed.metadata.resource_version
            state.gone = state.gone or all(p.metadata.uid != killed.uid for p in listed.items)
            for item in listed.items:
                state.see("MODIFIED", item)
            if state.gone and state.replacement:
                break
        watcher: Any = watch_mod.Watch
        w: Any = watcher()
        left = max(1, int(deadline - time.monotonic() + 0.999))
        try:
            for event in w.stream(cluster.core.list_namespaced_pod, old.namespace,
                                  label_selector=killed.selector, resource_version=rv,
                                  timeout_seconds=left):
                obj: Any = event["object"]
                rv = obj.metadata.resource_version or rv
                if state.see(event["type"], obj):
                    break
        except ApiException as exc:
            if exc.status != 410:
                raise PlatformError(f"watch pods: {reason(exc)}") from None
            rv = None  # expired: list again
        finally:
            w.stop()
        if state.gone and state.replacement:
            break
    if not state.gone:
        raise PlatformError(f"pod {old.name} (uid {killed.uid}) still exists after "
                            f"{timeout_s:g}s")
    if not state.replacement:
        raise PlatformError(f"no ready replacement for pod {old.name} after {timeout_s:g}s")
    return state.replacement
