"""The producer targets: every library experiment still applies to them (the roles behind
the broker are reference-local's; with reference-local-ha-producer also the replicated
broker's), and the producer's own experiments need a producer."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.spec.errors import SpecError
from chaos.spec.validate import check_experiment_file, check_target_file
from tests.system import ROOT

TARGET = ROOT / "targets" / "reference-local-producer.yaml"
HA_TARGET = ROOT / "targets" / "reference-local-ha-producer.yaml"
LIBRARY = sorted((ROOT / "experiments").glob("*.yaml"))
# producer-broker-outage names only the producer-broker proxy: against a target without a
# producer it is the publisher's outage (experiments/README.md), valid but proving less.
PRODUCER_ONLY = {"producer-kill.yaml", "producer-crash-after-wal.yaml"}
# these need a replicated broker (the broker-replication proxy, a broker-role: primary)
HA_ONLY = {"broker-failover.yaml"}


@pytest.mark.parametrize("target", [TARGET, HA_TARGET], ids=lambda p: p.stem)
def test_the_target_file_is_valid(target: Path) -> None:
    check_target_file(target)


@pytest.mark.parametrize("experiment", [p for p in LIBRARY if p.name not in HA_ONLY],
                         ids=lambda p: p.name)
def test_every_library_experiment_applies_to_the_producer_target(experiment: Path) -> None:
    check_experiment_file(experiment, str(TARGET))


@pytest.mark.parametrize("name", sorted(HA_ONLY))
def test_the_failover_experiments_need_a_replicated_broker(name: str) -> None:
    with pytest.raises(SpecError, match="broker-replication"):
        check_experiment_file(ROOT / "experiments" / name, str(TARGET))


@pytest.mark.parametrize("experiment", LIBRARY, ids=lambda p: p.name)
def test_every_library_experiment_applies_to_the_ha_producer_target(experiment: Path) -> None:
    check_experiment_file(experiment, str(HA_TARGET))


@pytest.mark.parametrize("name", sorted(PRODUCER_ONLY))
def test_the_producer_experiments_need_a_producer(name: str) -> None:
    with pytest.raises(SpecError, match="tier: producer"):
        check_experiment_file(ROOT / "experiments" / name,
                              str(ROOT / "targets" / "reference-local.yaml"))
