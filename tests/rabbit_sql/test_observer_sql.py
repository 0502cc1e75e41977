"""The `sql` observer against a real PostgreSQL: observations.json from the pipeline's own
tables, and one clear line (before any fault) for a bad query, a missing column or an
unreachable database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from chaos.checks.observations_file import read_observations
from chaos.observers.base import ObserverError
from chaos.observers.sql import SqlObserver
from chaos.platforms.local import LocalPlatform
from chaos.platforms.ports import free_port
from chaos.registry import observers

SCHEMA = """
CREATE TABLE {s}.orders (run_id text, order_id bigint, outcome text, t_ns bigint,
                         deliveries int, amount bigint);
CREATE TABLE {s}.effects (run_id text, order_id bigint, effect text);
CREATE TABLE {s}.dlq (run_id text, seq serial, order_id bigint, attempts int, reason text);
INSERT INTO {s}.orders VALUES ('r1', 2, 'completed', 20, 2, 500), ('r1', 1, 'completed', 10, 1,
  1999), ('r1', 3, 'dead_lettered', 30, 5, 0), ('r1', 4, NULL, NULL, 0, 700),
  ('other', 1, 'completed', 1, 1, 1);
INSERT INTO {s}.effects VALUES ('r1', 1, 'db.apply'), ('r1', 2, 'db.apply'),
  ('r1', 2, 'db.apply'), ('other', 1, 'db.apply');
INSERT INTO {s}.dlq (run_id, order_id, attempts, reason) VALUES
  ('r1', 3, 5, 'payload is not valid JSON' || chr(10) || 'more');
"""


@pytest.fixture
def schema(servers: LocalPlatform) -> Iterator[tuple[str, str]]:
    """(database URL, schema name) with a small pipeline's tables filled for run r1."""
    url = f"postgresql://postgres@{servers.resolve('${component:db/pg}')}/postgres"
    name = f"s_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
        conn.execute(SCHEMA.format(s=name))
    yield url.replace("postgresql://", "postgresql+psycopg://"), name
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


def settings(url: str, s: str, **override: Any) -> dict[str, Any]:
    queries = {
        "orders": f"SELECT order_id, outcome, t_ns AS t_terminal, greatest(deliveries - 1, 0)"
                  f" AS redeliveries, amount AS value, 0 AS qty, amount / 100 AS points"
                  f" FROM {s}.orders WHERE run_id = :run_id",
        "effects": f"SELECT effect, order_id, count(*) AS count FROM {s}.effects"
                   f" WHERE run_id = :run_id GROUP BY effect, order_id",
        "dead_letters": f"SELECT order_id, attempts, reason FROM {s}.dlq"
                        f" WHERE run_id = :run_id ORDER BY seq",
        "totals": f"SELECT 'charged' AS name, coalesce(sum(amount), 0) AS value FROM {s}.orders"
                  f" WHERE run_id = :run_id AND outcome = 'completed'",
    }
    queries.update(override.pop("queries", {}))
    return {"url": url, "queries": queries, "effects": ["db.apply"], "max_attempts": 5,
            **override}


def test_is_registered() -> None:
    assert observers.get("sql") is SqlObserver


def test_observations_from_the_pipelines_tables(schema: tuple[str, str], tmp_path: Path) -> None:
    observer = SqlObserver(settings(*schema))
    observer.prepare()
    assert observer.drained()  # no drained query: nothing to wait for
    observer.observe("r1", tmp_path / "observations.json")
    obs = read_observations(tmp_path / "observations.json")
    assert obs.order_id.tolist() == [1, 2, 3, 4]
    assert obs.outcome.tolist() == [1, 1, 3, 0]
    assert obs.t_terminal.tolist() == [10, 20, 30, -1]
    assert obs.redeliveries.tolist() == [0, 1, 4, 0]
    ids, counts = obs.effects["db.apply"]
    assert (ids.tolist(), counts.tolist()) == ([1, 2], [1, 2])
    assert obs.dead_letters.order_id.tolist() == [3]
    assert obs.dead_letters.attempts.tolist() == [5]
    assert obs.dead_letters.reason == ["payload is not valid JSON"]
    assert obs.totals == {"charged": 2499}
    assert obs.settings["max_attempts"] == 5


@pytest.mark.parametrize(("change", "message"), [
    ({"queries": {"orders": "SELEC order_id"}}, r"^sql observer query orders: syntax error"),
    ({"queries": {"dead_letters": "SELECT order_id, attempts, why FROM {s}.dlq"}},
     r'^sql observer query dead_letters: column "why" does not exist'),
    ({"queries": {"effects": "SELECT order_id, effect, 1 AS count FROM {s}.effects"}},
     r"^sql observer query effects returns columns \(order_id, effect, count\); "
     r"it must return \(effect, order_id, count\)"),
    ({"queries": {"totals": "SELECT 1 FROM {s}.nothing"}},
     r'^sql observer query totals: relation ".*nothing" does not exist'),
])
def test_bad_queries_are_one_line_in_prepare(
    schema: tuple[str, str], change: dict[str, Any], message: str,
) -> None:
    url, s = schema
    queries = {k: v.format(s=s) for k, v in change["queries"].items()}
    with pytest.raises(ObserverError, match=message) as caught:
        SqlObserver(settings(url, s, queries=queries)).prepare()
    assert "\n" not in str(caught.value)


def test_unreachable_database_is_one_line() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(ObserverError, match=r"^sql observer cannot reach postgresql\+psycopg://"
                       r"postgres@127.0.0.1:\d+/postgres: .*(refused|failed)") as caught:
        SqlObserver(settings(url, "s")).prepare()
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("change", "message"), [
    ({"queries": {"bogus": "SELECT 1"}}, r"queries: unknown \['bogus'\]"),
    ({"url": "not a url"}, "url is not a database URL"),
    ({"url": "nosuchdb://x/y"}, "sql observer nosuchdb://x/y: "),
    ({"saga": [["a"]]}, r"saga: each entry is \[step, compensation\]"),
    ({"colour": 1}, "unknown sql observer setting"),
])
def test_bad_settings_are_one_line(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ObserverError, match=message):
        SqlObserver({**settings("postgresql+psycopg://u@127.0.0.1:1/d", "s"), **change})
