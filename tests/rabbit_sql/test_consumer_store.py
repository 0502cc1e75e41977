"""The rabbit-sql consumer's PostgreSQL side against the real server: effects, idempotency
records and outcome in one statement, applied once per business key; without the UNIQUE key
(`no-unique-key`) a repeated message applies its effects again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from chaos.platforms.local import LocalPlatform
from targets.rabbit_sql.consumer import Poison, parse
from targets.rabbit_sql.store import Order, Store


@pytest.fixture
def database(servers: LocalPlatform) -> Iterator[tuple[str, str]]:
    """(host:port, name) of a fresh database on the shared server."""
    address = servers.resolve("${component:db/pg}")
    name = f"t_{uuid.uuid4().hex[:8]}"
    url = f"postgresql://postgres@{address}/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield address, name
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def counts(store: Store) -> dict[str, int]:
    conn = store.connect()
    return {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in ("ledger", "msg_idempotency", "outcomes", "dead_letters")}


@pytest.mark.parametrize(("bug", "second"), [(None, 0), ("no-unique-key", 2)])
def test_a_repeated_message_applies_its_effects_once(
    database: tuple[str, str], bug: str | None, second: int,
) -> None:
    store = Store(database[0], "consumer-0-abcd", bug, 3.0, dbname=database[1])
    store.create_schema()
    store.create_schema()  # idempotent: every replica runs it at start
    order = Order(value=1999, qty=2, points=19)
    assert store.apply("run-1", 7, order) == 2
    assert store.apply("run-1", 7, order) == second  # the redelivery
    assert store.apply("run-2", 7, order) == 2  # another run's order 7 is another key
    assert counts(store) == {"ledger": 4 + second, "msg_idempotency": 4 + second,
                             "outcomes": 2, "dead_letters": 0}
    rows = store.connect().execute(
        "SELECT effect, amount FROM ledger WHERE run_id = 'run-1' ORDER BY id LIMIT 2").fetchall()
    assert rows == [("ledger.charge", 1999), ("points.award", 19)]
    store.drop()


def test_a_dead_letter_is_recorded_once(database: tuple[str, str]) -> None:
    store = Store(database[0], "consumer-0-abcd", None, 3.0, dbname=database[1])
    store.create_schema()
    assert store.dead_letter("run-1", 9, 3, "payload is not valid JSON") is True
    assert store.dead_letter("run-1", 9, 3, "payload is not valid JSON") is False
    assert counts(store) == {"ledger": 0, "msg_idempotency": 1, "outcomes": 1,
                             "dead_letters": 1}
    outcome = store.connect().execute("SELECT outcome, value FROM outcomes").fetchone()
    assert outcome == ("dead_lettered", 0)
    store.drop()


def test_poison_payloads_are_named() -> None:
    assert parse(b'{"amount": 250, "qty": 2}') == Order(value=250, qty=2, points=2)
    for body, reason in ((b"{not json #3", "not valid JSON"), (b"[1]", "not a JSON object"),
                         (b'{"amount": "x", "qty": 1}', "amount"),
                         (b'{"amount": 1, "qty": true}', "qty")):
        with pytest.raises(Poison, match=reason):
            parse(body)
