"""A run whose `sql` observer cannot read its database stops in prepare: status error,
exit 3, one line naming the observer and the cause, and no fault applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.platforms.ports import free_port
from tests.core.core_helpers import run_stopped_in_prepare


def test_unreachable_database_exits_3_before_any_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    queries = {"orders": "SELECT 1", "effects": "SELECT 1", "dead_letters": "SELECT 1"}
    reason = run_stopped_in_prepare(
        tmp_path, monkeypatch, {"type": "sql", "settings": {"url": url, "queries": queries}})
    assert reason.startswith("observer sql: sql observer cannot reach "
                             "postgresql+psycopg://postgres@127.0.0.1:")
