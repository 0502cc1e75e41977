"""Roles: the `index` label, `min: all`, and validate's one line for a role a target lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.cli import main
from chaos.faults.pod import KILL, pods_at_most
from chaos.probes.conditions import steady
from chaos.probes.pods import PODS_READY
from chaos.spec.loader import load_target
from chaos.spec.models import ProbeCheck
from chaos.spec.names import missing_role
from chaos.spec.roles import declared_pods, pod_labels
from chaos.spec.structs import decode

from .core_helpers import ROOT

REFERENCE = ROOT / "targets" / "reference-local.yaml"


def test_pod_labels_and_declared_pods() -> None:
    target = load_target(REFERENCE)[0]
    consumer = target.component("consumer")
    assert consumer is not None
    assert pod_labels(consumer, 2) == {"app": "consumer", "tier": "worker",
                                       "component": "consumer", "index": "2"}
    assert [i for _, i in declared_pods(target, {"tier": "worker"})] == [0, 1, 2]
    assert [(c.name, i) for c, i in declared_pods(target, {"tier": "worker", "index": "1"})] \
        == [("consumer", 1)]
    assert len(declared_pods(target, {"tier": "service"})) == 3
    assert len(declared_pods(target, {})) == 7
    kill = decode(KILL.Params, {"selector": {"tier": "worker", "index": "1"}, "mode": "all"})
    assert pods_at_most(kill, target) == 1  # max_pods counts the one slot
    assert KILL.validate(kill, target) == []


def test_pods_ready_all_is_what_the_target_declares() -> None:
    target = load_target(REFERENCE)[0]
    assert PODS_READY.declared(target, {}) == 7
    assert PODS_READY.declared(target, {"pods_selector": {"tier": "worker"}}) == 3
    clock = [0.0]

    def tick(s: float) -> None:
        clock[0] += s

    def run(value: float, check: ProbeCheck, total: float | None) -> dict[str, object]:
        return steady([check], lambda _: value, sleep=tick, clock=lambda: clock[0],
                      total=lambda _: total)[0]

    all_up = ProbeCheck(probe="pods_ready", min="all", timeout=1.0)
    assert run(7, all_up, 7)["ok"] and run(7, all_up, 7)["bounds"] == "min 7 (all)"
    assert not run(6, all_up, 7)["ok"]
    assert run(7, ProbeCheck(probe="pods_ready", min=5), 7)["bounds"] == "min 5"
    none = run(7, ProbeCheck(probe="lag", max="all", timeout=1.0), None)
    assert not none["ok"] and "declares no total" in str(none["error"])


def test_missing_role_lines() -> None:
    target = load_target(REFERENCE)[0]
    assert missing_role(target, "proxy", "consumer-payment") is None
    assert missing_role(target, "selector", {"tier": "worker", "index": "2"}) is None
    line = missing_role(target, "proxy", "consumer-shipping")
    assert line == (
        "target reference-local has no proxy consumer-shipping, a role this experiment needs "
        "(it has: producer-broker, consumer-0-broker, consumer-1-broker, "
        "consumer-2-broker, consumer-inventory, consumer-payment, consumer-points)"
    )
    line = missing_role(target, "selector", {"tier": "cache"})
    assert line is not None and "{tier: cache} matches no component" in line
    assert "a role this experiment needs" in line and "tier: worker" in line
    line = missing_role(target, "selector", {"tier": "worker", "index": "3"})
    assert line is not None and line.startswith('{tier: worker, index: "3"} matches no component')


SMALL_TARGET = """apiVersion: pipechaos/v1
kind: Target
metadata: {name: reference-foo}
platform: {type: local}
components:
  - {name: queue, labels: {tier: broker}, command: [python, -c, "pass"]}
  - {name: worker, labels: {tier: worker}, replicas: 2, command: [python, -c, "pass"]}
proxies:
  - {name: producer-broker, upstream: "127.0.0.1:1"}
publisher: {type: redis-stream, settings: {address: "${proxy:producer-broker}"}}
"""


@pytest.mark.parametrize(
    ("fault", "line"),
    [
        (
            "{type: timeout.slow, at: 2s, duration: 2s, proxy: consumer-inventory, latency: 1s}",
            "exp.yaml:8:55: faults[0].proxy: target reference-foo has no proxy "
            "consumer-inventory, a role this experiment needs (it has: producer-broker)",
        ),
        (
            "{type: pod.kill, at: 2s, selector: {tier: service}}",
            "exp.yaml:8:40: faults[0].selector: {tier: service} matches no component of "
            "target reference-foo, a role this experiment needs (it has: queue {tier: broker, "
            "component: queue}, worker {tier: worker, component: worker})",
        ),
    ],
)
def test_validate_says_which_role_is_missing_in_one_line(
    tmp_path: Path, fault: str, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "foo.yaml").write_text(SMALL_TARGET)
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        "apiVersion: pipechaos/v1\nkind: Experiment\nmetadata: {name: x}\n"
        "target: foo.yaml\nload: {rate: 10/s, duration: 10s}\n"
        "steady_state: [{probe: pods_ready, min: all}]\nfaults:\n"
        f"  - {fault}\n"
    )
    assert main(["validate", str(exp)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # the plugin's own message does not repeat it
    assert err[0].endswith(line.removeprefix("exp.yaml")), err[0]
    assert err[0].startswith(str(exp))


def test_validate_refuses_all_on_a_probe_without_a_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        "apiVersion: pipechaos/v1\nkind: Experiment\nmetadata: {name: x}\n"
        f"target: {REFERENCE}\nload: {{rate: 10/s, duration: 10s}}\n"
        "steady_state:\n  - {probe: pods_ready, min: all}\n  - {probe: lag, max: all}\n"
    )
    assert main(["validate", str(exp)]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert ":8:" in err and "steady_state[1].max: probe lag declares no total for `all`" in err
