"""The actions a run has started, and reverting them: reverse order, each at most once.

An action joins the ledger (and the journal, as `applying`) *before* apply() runs, so an
interrupt in the middle of apply still reverts it; revert is idempotent by contract.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from chaos.faults.base import Action
from chaos.run.journal import Journal

log = logging.getLogger("pipechaos")


@dataclass
class Entry:
    id: str
    occurrence: str
    fault: str
    action: Action
    description: str
    record: dict[str, Any]
    times: dict[str, int] = field(default_factory=dict)  # state -> epoch ns
    outcome: str = "applying"
    error: str | None = None
    revert_claimed: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "occurrence": self.occurrence,
            "fault": self.fault,
            "description": self.description,
            "applied": self.times.get("applied"),
            "verified": self.times.get("verified"),
            "reverted": self.times.get("reverted"),
            "outcome": self.outcome,
            "error": self.error,
        }


class Ledger:
    def __init__(
        self,
        journal: Journal,
        last_resort: Callable[[], None] | None = None,
        shield: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self.shield = shield  # keeps signals out of bookkeeping and reverts
        self.journal = journal
        self.entries: list[Entry] = []
        self._lock = threading.Lock()
        self.last_resort = last_resort  # e.g. proxy /reset when a revert fails

    def start(self, action_id: str, occurrence: str, fault: str, action: Action) -> Entry:
        """Journal the action as applying (with its record) and make it revertible."""
        description = _safe(action.describe)
        record = action.record()
        entry = Entry(action_id, occurrence, fault, action, description, record)
        with self.shield():
            self.journal.action(
                action_id,
                "applying",
                occurrence=occurrence,
                fault=fault,
                record=record,
                description=description,
            )
            with self._lock:
                self.entries.append(entry)
        return entry

    def mark(self, entry: Entry, state: str, error: str | None = None) -> None:
        with self.shield():
            entry.times[state] = time.time_ns()
            entry.outcome = state
            fields: dict[str, Any] = {"error": error} if error else {}
            if error is not None:
                entry.error = error
            if state == "applied":
                # apply() may learn what revert needs (a certificate swap's backups):
                # journal the record again when it changed, so rollback sees it.
                record = _safe_record(entry.action)
                if record is not None and record != entry.record:
                    entry.record = record
                    fields["record"] = record
            self.journal.action(entry.id, state, **fields)

    def revert(self, entry: Entry) -> bool:
        """Revert one action unless this process already did (or is doing) it. Shielded:
        a signal never cuts a revert short (it is delivered once the revert is done)."""
        with self.shield():
            return self._revert(entry)

    def _revert(self, entry: Entry) -> bool:
        with self._lock:
            if entry.revert_claimed:
                return True
            entry.revert_claimed = True
        self.mark(entry, "reverting")
        try:
            entry.action.revert()
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.error("revert of %s failed: %s", entry.id, reason)
            log.debug("%s", traceback.format_exc())
            self.mark(entry, "revert_failed", reason)
            return False
        self.mark(entry, "reverted")
        return True

    def revert_all(self) -> bool:
        """Every action not yet reverted, newest first. True if all reverts succeeded."""
        ok = True
        failed = False
        for entry in reversed(list(self.entries)):
            if not self.revert(entry):
                ok = False
                failed = True
        if failed and self.last_resort is not None:
            try:
                self.last_resort()
                self.journal.write("last_resort", sync=True, action="proxy_reset")
            except Exception as exc:
                log.error("last-resort reset failed: %s: %s", type(exc).__name__, exc)
        return ok

    def active(self) -> list[Entry]:
        return [e for e in self.entries if not e.revert_claimed]


def _safe(fn: Callable[[], str]) -> str:
    try:
        return str(fn())
    except Exception as exc:
        return f"<describe failed: {type(exc).__name__}>"


def _safe_record(action: Action) -> dict[str, Any] | None:
    try:
        return action.record()
    except Exception:  # a record that cannot be rebuilt now keeps the one journaled first
        log.debug("record() failed after apply: %s", traceback.format_exc())
        return None
