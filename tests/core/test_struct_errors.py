"""Decode errors read as a file author's one-line problem: field path, position, the value."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.faults.network import LatencyParams
from chaos.spec.models import Experiment, TargetSpec
from chaos.spec.struct_errors import problems
from chaos.spec.structs import ValidationError, decode
from chaos.spec.yamlsafe import Located, load_text

BASE = """apiVersion: pipechaos/v1
kind: Experiment
metadata: {name: x}
target: t
"""


def problem(text: str, model: type = Experiment) -> str:
    located = load_text("f.yaml", text.encode())
    with pytest.raises(ValidationError) as caught:
        decode(model, located.data)
    (found,) = problems(located, caught.value, model)
    return str(found)


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("load: nope\n", "f.yaml:5:7: load: must be a mapping or 'none', got \"nope\""),
        ("load: {rate: 1/s}\n", "f.yaml:5:7: load.duration: required field is missing"),
        ("load: {rate: 1/s, duration: 3o s}\n", 'load.duration: must be a duration like 30s'),
        ("load: {rate: 1/s, duration: 1s, users: 0}\n", "load.users: must be >= 1, got 0"),
        ("load: {rate: 1/s, duration: 1s, users: many}\n", 'load.users: expected int, got "many"'),
        ("load: none\nsteady_state: {probe: lag}\n", "steady_state: expected a list, got a map"),
        ("load: none\ntiming: {drain_timeout: null}\n", "got null"),
        ("load: none\nfaults: [x]\n", 'f.yaml:6:10: faults[0]: expected a mapping, got "x"'),
        ("load: none\nabort_when: [{probe: lag}]\n", "abort_when[0]: give exactly one of above"),
        (
            "load: none\nabort_when:\n  - {probe: lag, abov: 1}\n",
            "f.yaml:7:18: abort_when[0].abov: unknown key (did you mean 'above'?); "
            "allowed: above, below, for, probe",
        ),
    ],
)
def test_experiment_problems(tail: str, expected: str) -> None:
    assert expected in problem(BASE + tail)


def test_target_choice_and_pattern() -> None:
    head = "apiVersion: pipechaos/v1\nkind: Target\nmetadata: {name: t}\n"
    assert "proxy_server: must be a mapping or 'embedded', got \"real\"" in problem(
        head + "proxy_server: real\n", TargetSpec
    )
    assert 'components[0].name: must match ^[a-z0-9][a-z0-9-]*$, got "Web"' in problem(
        head + "components: [{name: Web}]\n", TargetSpec
    )
    assert "components[0].labels: every value must be str" in problem(
        head + "components: [{name: w, labels: {a: 1}}]\n", TargetSpec
    )


def test_plugin_params_are_located_under_their_entry() -> None:
    text = BASE + "load: none\nfaults:\n  - {type: t, at: 1s, proxy: p, latncy: 1s}\n"
    located = load_text("f.yaml", text.encode())
    params: dict[str, Any] = dict(located.data["faults"][0])
    for own in ("type", "at"):
        params.pop(own)
    with pytest.raises(ValidationError) as caught:
        decode(LatencyParams, params)
    (found,) = problems(located, caught.value, LatencyParams, prefix=("faults", 0))
    assert str(found).startswith("f.yaml:7:33: faults[0].latncy: unknown key (did you mean")


def test_durations_decode_to_plain_floats() -> None:
    located: Located = load_text("f.yaml", (BASE + "load: {rate: 5/s, duration: 1m30s}\n").encode())
    exp = decode(Experiment, located.data)
    assert not isinstance(exp.load, str)
    assert (type(exp.load.duration), exp.load.duration) == (float, 90.0)
    assert (type(exp.load.rate), exp.load.rate) == (float, 5.0)
