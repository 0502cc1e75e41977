"""down(): the logs of the run's time window, one file per pod, in `<run_dir>/pods/`."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from chaos.platforms.kubernetes import pods as podlib

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.client import Cluster
    from chaos.spec.models import TargetSpec

log = logging.getLogger(__name__)
BUDGET_S = 30.0


def save_logs(cluster: Cluster, target: TargetSpec, namespace: str, folder: Path,
              since: float) -> int:
    """Write `<pod>.log` for every pod of the target; the number written."""
    folder.mkdir(parents=True, exist_ok=True)
    seconds = max(1, int(time.time() - since) + 1)
    written = 0
    deadline = time.monotonic() + BUDGET_S  # teardown must not hang on a slow API server
    for comp in target.components:
        if time.monotonic() > deadline:
            log.warning("pod logs: gave up after %ss", BUDGET_S)
            break
        try:
            objs = cluster.core.list_namespaced_pod(
                namespace, label_selector=podlib.label_selector(comp.labels),
                _request_timeout=10).items
        except Exception as exc:  # best effort: logs never fail a run
            log.warning("pod logs of %s: %s", comp.name, exc)
            continue
        for obj in objs:
            container = podlib.container_of(obj, comp)
            with contextlib.suppress(Exception):  # best effort: logs never fail a run
                text = cluster.core.read_namespaced_pod_log(
                    obj.metadata.name, namespace, container=container, since_seconds=seconds,
                    _request_timeout=10)
                (folder / f"{obj.metadata.name}.log").write_text(str(text), encoding="utf-8")
                written += 1
    return written
