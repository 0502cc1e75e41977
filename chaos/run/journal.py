"""journal.jsonl: the fault journal, written before anything is done, read by rollback.

One JSON object per line, `{"v": 1, "t": ns, "event": ...}`. Action lines are fsynced so
that what a run applied survives even a machine crash, not only a SIGKILL.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

VERSION = 1
UNREVERTED = {
    "applying",
    "applied",
    "apply_failed",
    "verified",
    "verify_failed",
    "reverting",
    "revert_failed",
}


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")

    def write(self, event: str, sync: bool = False, **fields: Any) -> dict[str, Any]:
        entry = {"v": VERSION, "t": time.time_ns(), "event": event, **fields}
        line = json.dumps(entry, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            if sync:
                os.fsync(self._file.fileno())
        return entry

    def action(self, action_id: str, state: str, **fields: Any) -> dict[str, Any]:
        return self.write("action", sync=True, id=action_id, state=state, **fields)

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


def append(path: Path, event: str, **fields: Any) -> dict[str, Any]:
    """One fsynced entry from a writer other than the run's Journal (the platform): a single
    O_APPEND write, so it cannot interleave with the run's own lines."""
    entry = {"v": VERSION, "t": time.time_ns(), "event": event, **fields}
    data = (json.dumps(entry, separators=(",", ":"), default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def read(path: Path) -> Iterator[dict[str, Any]]:
    """Entries in order; a torn last line (crash mid-write) is skipped."""
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry


def unreverted(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Actions whose last state is not `reverted`, in the order they were first journaled,
    each as its `applying` entry plus `last_state`, with the newest record journaled for it
    (an `applied` entry carries one again when apply() changed it)."""
    first: dict[str, dict[str, Any]] = {}
    last: dict[str, str] = {}
    for e in entries:
        if e.get("event") != "action" or not isinstance(e.get("id"), str):
            continue
        first.setdefault(e["id"], e)
        last[e["id"]] = str(e.get("state"))
        if "record" in e and e is not first[e["id"]]:  # re-journaled once applied
            first[e["id"]] = {**first[e["id"]], "record": e["record"]}
    return [{**first[i], "last_state": last[i]} for i in first if last[i] in UNREVERTED]


def finished(entries: list[dict[str, Any]]) -> bool:
    return any(e.get("event") == "run_end" for e in entries)


PROXIES_CREATED = "proxies_created"  # {url, names}: journaled before the server has them
PROXIES_DELETED = "proxies_deleted"  # {url, names}: gone from the server again


def leftover_proxies(entries: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Proxies the run created on a shared proxy server and has not deleted, by server URL
    (only those the server did not already have: found ones are reused and left there)."""
    left: dict[str, dict[str, None]] = {}
    for e in entries:
        url, names = e.get("url"), e.get("names")
        if not isinstance(url, str) or not isinstance(names, list):
            continue
        if e.get("event") == PROXIES_CREATED:
            left.setdefault(url, {}).update(dict.fromkeys(str(n) for n in names))
        elif e.get("event") == PROXIES_DELETED:
            for n in names:
                left.get(url, {}).pop(str(n), None)
    return {url: list(names) for url, names in left.items() if names}


def proxy_access(entries: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The access map journaled with proxies a platform created, by server URL: how to reach
    that server again when the URL was the dead run's own (a Kubernetes port-forward)."""
    out: dict[str, dict[str, str]] = {}
    for e in entries:
        if e.get("event") == PROXIES_CREATED and isinstance(e.get("access"), dict):
            out[str(e.get("url"))] = {str(k): str(v) for k, v in e["access"].items()}
    return out
