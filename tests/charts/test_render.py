"""Both charts lint strictly and render, with the defaults and three other value sets, into
objects the Kubernetes 1.29 and 1.33 API schemas accept (strict: no unknown field); a typo in
values fails with the chart schema's message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.charts.render import CASES, CHARTS, render, run_helm, values_args

KUBERNETES = ["1.29.0", "1.33.0"]
_SCHEMAS: dict[tuple[str, str], Any] = {}


def _cached_schema(read: Callable[[str, str], Any]) -> Callable[[str, str], Any]:
    def cached(filename: str, version: str) -> Any:
        if (filename, version) not in _SCHEMAS:
            _SCHEMAS[filename, version] = read(filename, version)
        return _SCHEMAS[filename, version]

    return cached


@pytest.mark.parametrize("chart, value_set", CASES)
def test_lint_strict(chart: str, value_set: str) -> None:
    proc = run_helm("lint", "--strict", str(CHARTS / chart), *values_args(chart, value_set))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("chart, value_set", CASES)
def test_every_object_passes_kubernetes_validate_strict(chart: str, value_set: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    kv = pytest.importorskip("kubernetes_validate")
    # the same schema files for every object: read each once (offline: they ship in the wheel)
    monkeypatch.setattr(kv.utils, "schema_contents", _cached_schema(kv.utils.schema_contents))
    validate = kv.validate
    docs = render(chart, value_set)
    assert len(docs) >= 7
    for version in KUBERNETES:
        for doc in docs:
            where = f"{version} {doc['kind']}/{doc['metadata']['name']}"
            try:
                validate(doc, version, strict=True)
            except Exception as exc:  # ValidationError, SchemaNotFoundError: both a failure
                pytest.fail(f"{where}: {getattr(exc, 'message', exc)}")


def test_kubernetes_validate_can_fail() -> None:
    """Negative control: the strict schemas refuse an unknown field and a wrong type."""
    kv = pytest.importorskip("kubernetes_validate")
    cronjob: dict[str, Any] = next(d for d in render("pipechaos", "default")
                                   if d["kind"] == "CronJob")
    bad = json.loads(json.dumps(cronjob))
    bad["spec"]["concurrencyPolicyy"] = "Forbid"
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, "1.33.0", strict=True)
    bad = json.loads(json.dumps(cronjob))
    bad["spec"]["jobTemplate"]["spec"]["backoffLimit"] = "zero"
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, "1.29.0", strict=True)


@pytest.mark.parametrize("chart, args, message", [
    ("pipechaos", ["--set", "job.activDeadlineSeconds=60"],
     "job: Additional property activDeadlineSeconds is not allowed"),
    ("pipechaos", ["--set", "schedules[0].name=k,schedules[0].cron=* * * * *,"
                   "schedules[0].experiment=consumer-kill.yaml,schedules[0].target=t.yaml,"
                   "schedules[0].suspendd=true"],
     "schedules.0: Additional property suspendd is not allowed"),
    ("pipechaos", ["--set", "rbac.portForward=yes"], "rbac.portForward: Invalid type"),
    ("pipechaos-reference", ["--set", "proxyServer.kind=toxiproxi"],
     'proxyServer.kind: proxyServer.kind must be one of the following: "pipechaos", "toxiproxy"'),
    ("pipechaos-reference", ["--set", "redis.settings.appendfsync=sometimes"],
     "redis.settings.appendfsync: redis.settings.appendfsync must be one of the following"),
    ("pipechaos-reference", ["--set", "tls.creat=false"],
     "tls: Additional property creat is not allowed"),
])  # fmt: skip
def test_a_values_typo_fails_with_the_schema_message(chart: str, args: list[str],
                                                     message: str) -> None:
    proc = run_helm("template", "t", str(CHARTS / chart), *args)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


@pytest.mark.parametrize("values, message", [
    (["--set", "schedules[0].name=k,schedules[0].cron=0 1 * * *,"
      "schedules[0].experiment=nope.yaml,schedules[0].target=reference-k8s.yaml"],
     'schedules[k].experiment: no experiment file "nope.yaml"'),
    (["--set", "schedules[0].name=k,schedules[0].cron=0 1 * * *,"
      "schedules[0].experiment=consumer-kill.yaml,schedules[0].target=nope.yaml"],
     'schedules[k].target: no target file "nope.yaml"'),
])  # fmt: skip
def test_a_schedule_naming_a_missing_file_fails_naming_it(values: list[str], message: str) -> None:
    proc = run_helm("template", "t", str(CHARTS / "pipechaos"), *values)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
