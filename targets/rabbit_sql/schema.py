"""The consumer's PostgreSQL tables, after the seed document's section 3.1.

`msg_idempotency` is the seed's state table: one row per (message, effect) with a UNIQUE key
on the business key `run:order:effect`, so of two concurrent or repeated inserts only the
first succeeds. The effect rows (`ledger`), the idempotency rows and the order's `outcomes`
row are written in one transaction. `deliveries` logs every delivery (redeliveries,
handled_by), `dead_letters` the DLQ's entries with attempts and reason, `consumer_status`
each consumer's view of the broker every 0.5 s (the observer's `drained` query).

Known-bad variant `no-unique-key`: the same table without its UNIQUE key. The consumer's
`INSERT ... ON CONFLICT DO NOTHING` then never conflicts, so a redelivered message applies
its effects again.
"""

from __future__ import annotations

LOCK = 7_160_016  # pg_advisory_xact_lock key: replicas starting together create tables once

UNIQUE_KEY = ",\n    CONSTRAINT uk_bizkey UNIQUE (biz_key)"

TABLES = """
CREATE TABLE IF NOT EXISTS msg_idempotency (
    msg_id     text NOT NULL,
    biz_key    text NOT NULL,
    run_id     text NOT NULL,
    order_id   bigint NOT NULL,
    effect     text NOT NULL,
    status     smallint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(){unique}
);
CREATE TABLE IF NOT EXISTS ledger (
    id       bigserial PRIMARY KEY,
    run_id   text NOT NULL,
    order_id bigint NOT NULL,
    effect   text NOT NULL,
    amount   bigint NOT NULL,
    pod      text NOT NULL,
    t        bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS outcomes (
    run_id     text NOT NULL,
    order_id   bigint NOT NULL,
    outcome    text NOT NULL,
    t_terminal bigint NOT NULL,
    value      bigint NOT NULL,
    qty        bigint NOT NULL,
    points     bigint NOT NULL,
    pod        text NOT NULL,
    PRIMARY KEY (run_id, order_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id          bigserial PRIMARY KEY,
    run_id      text NOT NULL,
    order_id    bigint NOT NULL,
    pod         text NOT NULL,
    redelivered boolean NOT NULL,
    attempt     int NOT NULL,
    t           bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_t ON deliveries (t);
CREATE TABLE IF NOT EXISTS dead_letters (
    id       bigserial PRIMARY KEY,
    run_id   text NOT NULL,
    order_id bigint NOT NULL,
    attempts int NOT NULL,
    reason   text NOT NULL,
    t        bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS consumer_status (
    pod       text PRIMARY KEY,
    t         bigint NOT NULL,
    connected boolean NOT NULL,
    ready     bigint NOT NULL
);
"""


def ddl(bug: str | None) -> str:
    """The CREATE statements, without the UNIQUE key for `no-unique-key`."""
    return TABLES.format(unique="" if bug == "no-unique-key" else UNIQUE_KEY)
