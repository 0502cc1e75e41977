"""Pure parts of the reference pipeline, and one-line errors on bad configuration."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaos.observers.reference import ObserverError, ReferenceObserver
from targets.reference.broker import find_redis_server, redis_argv
from targets.reference.consumer import parse_settings
from targets.reference.crash import CrashPoints
from targets.reference.order import Order, Poison, parse_entry
from targets.reference.pod import duration_s, parse_pod
from targets.reference.retry import Backoff
from tests.pipeline.harness import ROOT

GOOD = {"sku": "sku-3", "qty": 2, "amount": 1999, "customer": "c-17", "card": "4242"}


def entry(payload: object, order_id: str = "7") -> dict[str, str]:
    text = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
    return {"order_id": order_id, "run_id": "r", "payload": text, "ts": "1"}


def test_parse_entry_order_and_poison() -> None:
    assert parse_entry(entry(GOOD)) == Order("r", 7, "sku-3", 2, 1999, "c-17", "4242")
    cases = {
        "{not json": "not valid JSON",
        "[1, 2]": "not a JSON object",
        orjson.dumps({**GOOD, "qty": "2"}).decode(): "qty",
        orjson.dumps({k: v for k, v in GOOD.items() if k != "card"}).decode(): "card",
        orjson.dumps({**GOOD, "qty": 0}).decode(): "qty must be > 0",
        orjson.dumps({**GOOD, "qty": True}).decode(): "qty",
    }
    for text, reason in cases.items():
        got = parse_entry(entry(text))
        assert isinstance(got, Poison) and reason in got.reason, (text, got)
    bad_id = parse_entry(entry(GOOD, order_id="x1"))
    assert isinstance(bad_id, Poison) and bad_id.order_id == "x1"


@given(st.binary(max_size=64))
def test_parse_entry_never_raises(raw: bytes) -> None:
    got = parse_entry(entry(raw.decode("utf-8", "replace")))
    assert isinstance(got, Order | Poison)


@given(st.integers(min_value=1, max_value=200))
def test_backoff_is_capped_and_jittered(attempt: int) -> None:
    b = Backoff(0.05, 2.0)
    delays = [b.delay(attempt, random.Random(i)) for i in range(20)]
    assert all(0.0 <= d <= min(2.0, 0.05 * 2 ** (attempt - 1)) for d in delays)
    assert len(set(delays)) > 1


def test_durations_and_crash_points() -> None:
    assert duration_s("500ms", 1) == 0.5 and duration_s("2s", 1) == 2 and duration_s(3, 1) == 3
    assert duration_s(None, 1.5) == 1.5
    with pytest.raises(SystemExit):
        duration_s("soon", 1)
    crash = CrashPoints()
    with pytest.raises(ValueError, match="unknown crash point"):
        crash.arm("sometime")
    crash.arm("after-ack")
    crash.reached("before-effects", "x")  # not armed for this point: nothing happens


def test_parse_pod_errors_are_one_line() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_pod("{")
    with pytest.raises(ValueError, match="name"):
        parse_pod(json.dumps({"component": "c", "data_dir": "/tmp"}))
    with pytest.raises(ValueError, match="unknown bug"):
        parse_pod(json.dumps({"name": "n", "component": "c", "data_dir": "/tmp", "bug": "x"}))
    pod = parse_pod(json.dumps({"name": "n", "component": "c", "data_dir": "/tmp",
                                "ports": {"admin": 1}, "tls": {"cert": "/c", "key": "/k"}}))
    assert pod.port("admin") == 1 and pod.tls_cert == Path("/c") and pod.bug is None


def test_consumer_settings_validation(capsys: pytest.CaptureFixture[str]) -> None:
    good = {"redis": "127.0.0.1:6379", "inventory": "http://a", "payment": "https://b",
            "points": "http://c", "reclaim_idle": "500ms"}
    s = parse_settings(good)
    assert s.reclaim_idle_s == 0.5 and s.urls["payment"] == "https://b"
    for bad in ({**good, "redis": "nowhere"}, {**good, "points": "ftp://x"},
                {**good, "tls_errors": "ignore"}, {**good, "max_attempts": 0}):
        with pytest.raises(SystemExit):
            parse_settings(bad)
    assert capsys.readouterr().err.count("error:") == 4


def test_broker_uses_a_recent_redis_with_fsync_always(tmp_path: Path) -> None:
    argv = redis_argv(find_redis_server(), 1234, tmp_path)
    flags = dict(zip(argv[1::2], argv[2::2], strict=False))
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] == "always"
    assert flags["--bind"] == "127.0.0.1" and flags["--dir"] == str(tmp_path)


@pytest.mark.parametrize("module", ["targets.reference.consumer", "targets.reference.broker",
                                    "targets.reference.services.payment"])
def test_pods_without_config_exit_with_one_line(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PIPECHAOS_POD"}
    proc = subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "PIPECHAOS_POD" in proc.stderr


def test_observer_settings_errors() -> None:
    with pytest.raises(ObserverError, match="host:port"):
        ReferenceObserver({"redis": "x"}, None)
    with pytest.raises(ObserverError, match="inventory"):
        ReferenceObserver({"redis": "127.0.0.1:1"}, None)


def test_a_late_charge_after_its_refund_is_refused(tmp_path: Path) -> None:
    """A consumer gave up waiting for a charge and compensated; the charge arrives late."""
    from targets.reference.services import payment
    from targets.reference.services.store import Store

    store = Store(tmp_path / "payment.db")
    store.init_kv({"charged": 0, "refunded": 0})
    order = {"run_id": "r", "order_id": 7, "amount": 500, "card": "4242424242424242"}
    assert store.handle("r:7:payment.refund", order, payment.refund)[0] == 200
    status, body = store.handle("r:7:payment.charge", order, payment.charge)
    assert (status, body["reason"]) == (409, "cancelled")
    assert payment.totals(store) == {"charged": 0, "refunded": 0}
    assert store.effects("r") == {}
    # The other order: charge first, then refund, balances as before.
    other = {**order, "order_id": 8}
    assert store.handle("r:8:payment.charge", other, payment.charge)[0] == 200
    assert store.handle("r:8:payment.refund", other, payment.refund)[0] == 200
    assert payment.totals(store) == {"charged": 500, "refunded": 500}
