"""Every experiment in the library passes against the correct reference pipeline, and
those that exist for a rarely-run code path show in their run data that they reached it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from chaos.formats.observations import read_document, to_lists
from tests.e2e.parallel import Runs, module_runs
from tests.e2e.runner import ROOT

# Experiments written for another pipeline (`target: rabbit-sql`) run in that pipeline's
# own tests (tests/rabbit_sql/test_pipeline_e2e.py), which need its system packages.
OWN_TESTS = {"rabbit-sql"}
LIBRARY = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml")
                 if yaml.safe_load(p.read_text()).get("target") not in OWN_TESTS)


def least(*paths: str) -> Callable[[dict[str, Any]], int]:
    """The smallest of these counts in observations.json `consumers` (the consumers' own,
    summed over pods), e.g. "shutdown.released": above zero when every one ran."""

    def count(obs: dict[str, Any]) -> int:
        def one(path: str) -> int:
            value: Any = obs["consumers"]
            for key in path.split("."):
                value = value[key]
            return int(value)

        return min(one(path) for path in paths)

    return count


def produced(*fields: str) -> Callable[[dict[str, Any]], int]:
    """The smallest of these counts in observations.json `producers.totals` (the reference
    producer's own, summed over its incarnations), e.g. "replayed"."""

    def count(obs: dict[str, Any]) -> int:
        return min(int(obs["producers"]["totals"].get(f, 0)) for f in fields)

    return count


OUTAGE = least(*(f"paths.{p}.{k}" for p in ("read", "reconnect", "reclaim")
                 for k in ("errors", "recoveries")))


def failed_over_and_back(obs: dict[str, Any]) -> int:
    """Sentinel moved the primary, and the old primary is now its replica, link up."""
    broker = obs["broker"]
    back = [r for r in broker["replicas"] if r["address"] == broker["initial_primary"]
            and r["role_reported"] == "slave" and r["link"] == "ok"]
    return int(bool(broker["failed_over"] and broker["config_epoch"] >= 1 and back))


# An experiment shows in its own run data that it reached the path it exists for.
REACHED: dict[str, Callable[[dict[str, Any]], int]] = {
    # the paused consumer found its sagas reclaimed and left them alone; those were
    # delivered again (the duplicates metrics_truth holds the consumers' own count to)
    "consumer-pause-in-flight.yaml": lambda obs: min(int(obs["fencing"]["fenced"]),
                                                     sum(obs["orders"]["redeliveries"])),
    # a stopping consumer finished some sagas in flight and released others
    "rolling-restart.yaml": least("shutdown.finished", "shutdown.released"),
    # the broker away past the redis retry budget: the consumers' own paths failed, recovered
    "consumer-broker-outage.yaml": OUTAGE,
    "broker-outage.yaml": OUTAGE,
    "broker-failover.yaml": failed_over_and_back,
    # the certificate expired, then handshakes timed out on the payment hop
    "payment-expiry-handshake-timeout.yaml": least("tls.expired", "tls.handshake-timeout"),
    # releases of declined orders' stock failed on the partitioned inventory hop
    "inventory-partition-compensation.yaml": least("compensation.inventory.failures"),
    # the restarted producer resent, from its write-ahead log, what the broker never took
    "producer-kill.yaml": produced("replayed"),
    "producer-crash-after-wal.yaml": produced("replayed"),
    # the producer's sends failed while the broker refused it, and were resent after
    "producer-broker-outage.yaml": produced("send_errors", "resent", "send_recoveries"),
}


def test_library_is_complete() -> None:
    wanted = {
        "consumer-kill.yaml", "consumer-kill-repeated.yaml",
        "consumer-crash-before-effects.yaml", "consumer-crash-after-effects.yaml",
        "consumer-pause.yaml", "consumer-redis-partition.yaml",
        "producer-redis-partition.yaml", "broker-kill.yaml", "payment-timeout.yaml",
        "inventory-blackhole.yaml", "consumer-redis-bandwidth.yaml",
        "publish-reset-peer.yaml", "poison-messages.yaml", "consumer-pause-in-flight.yaml",
        "rolling-restart.yaml", "consumer-broker-outage.yaml", "broker-outage.yaml",
        "broker-failover.yaml",
        "payment-expiry-handshake-timeout.yaml", "inventory-partition-compensation.yaml",
        "producer-kill.yaml", "producer-crash-after-wal.yaml", "producer-broker-outage.yaml",
    }
    assert wanted <= set(LIBRARY)


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[Runs]:
    yield from module_runs(request, lambda params: (params["experiment"], None)
                           if "experiment" in params else None)


@pytest.mark.e2e
@pytest.mark.parametrize("experiment", LIBRARY)
def test_correct_pipeline_passes(experiment: str, runs: Runs) -> None:
    outcome, run_dir = runs.get(experiment)
    assert outcome.exit_code == 0, outcome.explain()
    assert outcome.result["status"] == "passed"
    assert outcome.names(), "an experiment without verdicts proves nothing"
    assert all(v["ok"] for v in outcome.result["verdicts"])
    if experiment in REACHED:
        observations = to_lists(read_document(run_dir / "observations.json"))
        assert REACHED[experiment](observations) > 0, (
            observations.get("fencing"), observations.get("consumers"),
            observations.get("broker"), observations.get("producers"))
