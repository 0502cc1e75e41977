"""`pipechaos rollback`: revert what a dead run left applied, from its journal alone.

Each action is rebuilt with `registry.faults[fault].restore(record)` (no platform needed)
and reverted newest first; the journal records each revert. Then the proxies the run created
on a shared proxy server are deleted, as the platform's down() would have. A run whose
process is still alive is refused: its own cleanup will revert.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos import registry
from chaos.run import journal as jr


@dataclass
class RollbackReport:
    run_dir: Path
    reverted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deleted_proxies: list[str] = field(default_factory=list)  # "<url> <name>"
    skipped: str | None = None  # why nothing was done

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "reverted": self.reverted,
            "failed": self.failed,
            "deleted_proxies": self.deleted_proxies,
            "skipped": self.skipped,
        }


class RollbackError(Exception):
    """The run directory cannot be rolled back (bad input: exit 2)."""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is dead for our purpose
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _owner(entries: list[dict[str, Any]]) -> tuple[int | None, int]:
    for e in entries:
        if e.get("event") == "run_start" and isinstance(e.get("pid"), int):
            return e["pid"], int(e.get("t", 0))
    return None, 0


def _still_running(pid: int, started_ns: int) -> bool:
    if not alive(pid):
        return False
    try:
        import psutil

        # pid reuse: a process created after the run started is not the run
        return bool(psutil.Process(pid).create_time() * 1e9 <= started_ns + 1e9)
    except Exception:
        return True


def rollback(run_dir: Path) -> RollbackReport:
    path = run_dir / "journal.jsonl"
    if not path.is_file():
        raise RollbackError(f"{run_dir}: no journal.jsonl (not a run directory?)")
    entries = list(jr.read(path))
    report = RollbackReport(run_dir)
    pid, started = _owner(entries)
    if (
        pid is not None
        and pid != os.getpid()
        and _still_running(pid, started)
        and not jr.finished(entries)
    ):
        report.skipped = f"run still in progress (pid {pid}); stop it and it reverts itself"
        return report
    todo = jr.unreverted(entries)
    proxies = jr.leftover_proxies(entries)
    if not todo and not proxies and jr.finished(entries):
        report.skipped = "nothing left applied"
        return report
    journal = jr.Journal(path)
    try:
        for entry in reversed(todo):
            _revert_one(journal, entry, report)
        if report.failed:
            _last_resort(run_dir, todo, journal)
        access = jr.proxy_access(entries)
        for url, names in proxies.items():
            _delete_proxies(journal, url, names, report, access.get(url))
        if not jr.finished(entries):
            journal.write("run_end", sync=True, status="rolled_back")
    finally:
        journal.close()
    return report


def _revert_one(journal: jr.Journal, entry: dict[str, Any], report: RollbackReport) -> None:
    action_id = str(entry["id"])
    journal.action(action_id, "reverting", by="rollback")
    try:
        fault = registry.faults.get(str(entry.get("fault")))
        record = entry.get("record")
        if not isinstance(record, dict):
            raise ValueError("journal entry has no record")
        fault.restore(record).revert()
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        journal.action(action_id, "revert_failed", error=reason, by="rollback")
        report.failed.append(f"{action_id}: {reason}")
        return
    journal.action(action_id, "reverted", by="rollback")
    report.reverted.append(action_id)


def _delete_proxies(
    journal: jr.Journal, url: str, names: list[str], report: RollbackReport,
    access: dict[str, str] | None = None,
) -> None:
    from chaos.platforms.detached import reattach
    from chaos.platforms.proxyserver import delete

    handle = reattach(access) if access else None
    try:
        gone = handle.delete_proxies(names) if handle is not None else delete(url, names)
    except Exception as exc:  # the platform is unreachable: report it, rollback goes on
        report.failed.append(f"proxies {', '.join(names)} on {url}: {exc}")
        return
    if gone:
        journal.write(jr.PROXIES_DELETED, sync=True, url=url, names=gone, by="rollback")
    report.deleted_proxies += [f"{url} {name}" for name in gone]
    report.failed += [f"proxy {name} on {url}: not deleted (server unreachable?)"
                      for name in names if name not in gone]


def _last_resort(run_dir: Path, todo: list[dict[str, Any]], journal: jr.Journal) -> None:
    """A revert failed: reset the proxy server the run used, if we can tell which."""
    urls: set[str] = set()
    for entry in todo:
        record = entry.get("record") or {}
        for key in ("api", "api_url", "proxy_api"):
            if isinstance(record.get(key), str):
                urls.add(record[key])
    if not urls:
        return
    import httpx

    for url in sorted(urls):
        try:
            httpx.post(url.rstrip("/") + "/reset", timeout=5.0)
            journal.write("last_resort", sync=True, action="proxy_reset", url=url)
        except Exception:
            continue


def unfinished(runs_root: Path) -> list[Path]:
    """Run directories under `runs_root` whose journal has no run_end, unreverted actions or
    proxies left on a shared proxy server."""
    out: list[Path] = []
    if not runs_root.is_dir():
        return out
    for journal_path in sorted(runs_root.glob("*/journal.jsonl")):
        entries = list(jr.read(journal_path))
        if not jr.finished(entries) or jr.unreverted(entries) or jr.leftover_proxies(entries):
            out.append(journal_path.parent)
    return out


def dump(reports: list[RollbackReport]) -> str:
    return json.dumps([r.to_json() for r in reports], indent=2)
