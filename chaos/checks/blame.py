"""Which fault to blame for an offending order, and by which rule.

Publish time alone blames whatever fault was in force when the order was published,
which is wrong when a later fault on the pod running it did the damage (a consumer
paused mid-saga, waking up to compensate a saga another consumer completed). So, for
an order whose handling pods are known (observations `handled_by`):
  1. `pod`: faults whose actions touched one of those pods (pod.kill, pod.pause, ...);
  2. `hop`: faults on a proxy one of those pods talks through: a proxy named
     `<component>-<index>-...` touches that replica, `<component>-...` every replica
     (`consumer-1-broker`: consumer 1; `consumer-inventory`: all consumers);
  3. `time`: else every fault.
Among the candidates, time picks one (chaos.checks.locate.fault_codes: the window the
order's time falls in, else the latest that ended before it, else the next one).
Pod names are parsed as `<component>-<index>[-<suffix>]` (the local platform, a
StatefulSet); names that do not parse only take part in rule 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from chaos.checks.model import FaultWindow, HandledBy

_POD = re.compile(r"^(?P<component>.+?)-(?P<index>\d+)(?:-[^-]+)?$")
Pick = Callable[[Sequence[FaultWindow], int], FaultWindow | None]


def replica(pod: str) -> tuple[str, int] | None:
    """(component, index) of a pod name, or None."""
    m = _POD.match(pod)
    return (m["component"], int(m["index"])) if m else None


def proxy_touches(proxy: str, pod: str) -> bool:
    """Does traffic of `pod` go through `proxy` (by the role naming of proxies)?"""
    rep = replica(pod)
    if rep is None:
        return False
    component, index = rep
    if not proxy.startswith(component + "-"):
        return False
    first = proxy[len(component) + 1 :].split("-", 1)[0]
    return int(first) == index if first.isdigit() else True


def candidates(faults: Sequence[FaultWindow], pods: set[str]) -> tuple[str, list[FaultWindow]]:
    """The rule that applies to an order handled by `pods`, and the faults it allows."""
    by_pod = [w for w in faults if pods & set(w.pods)]
    if by_pod:
        return "pod", by_pod
    by_hop = [w for w in faults
              if any(proxy_touches(x, p) for x in w.proxies for p in pods)]
    if by_hop:
        return "hop", by_hop
    return "time", list(faults)


def blame(
    faults: Sequence[FaultWindow], handled_by: HandledBy | None, order_id: int, t: int,
    pick: Pick,
) -> tuple[str | None, str | None]:
    """(fault id, rule) for one order at time `t` (-1: unknown, no fault blamed)."""
    if not faults or t < 0:
        return None, None
    pods = handled_by.of(order_id) if handled_by is not None else set()
    rule, allowed = candidates(faults, pods)
    chosen = pick(allowed, t)
    return (chosen.id, rule) if chosen is not None else (None, None)
