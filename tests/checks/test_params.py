"""Parameter parsing shared by every check: bounds, durations, unknown keys."""

from __future__ import annotations

import pytest

from chaos.checks.params import Bound, ParamError, Params, parse_bound


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("200ms", Bound(seconds=0.2)),
        ("1m30s", Bound(seconds=90.0)),
        ("3x baseline", Bound(factor=3.0)),
        ("1.5 x baseline", Bound(factor=1.5)),
        ("3x baseline + 50ms", Bound(factor=3.0, plus=0.05)),
    ],
)
def test_parse_bound(text: str, bound: Bound) -> None:
    assert parse_bound(text) == bound


@pytest.mark.parametrize("text", ["fast", "0x baseline", "3x", "x baseline", "3x base", 200, None])
def test_bad_bounds(text: object) -> None:
    with pytest.raises(ValueError, match="must be a duration like 200ms or a ratio like"):
        parse_bound(text)


def test_bound_limits() -> None:
    assert Bound(seconds=0.2).limit(None) == 0.2
    assert Bound(factor=3.0, plus=0.05).limit(0.01) == pytest.approx(0.08)
    assert Bound(factor=3.0).limit(None) is None
    assert Bound(factor=2.0, plus=0.5).describe() == "2x baseline + 0.5s"


def test_params_collects_every_error_and_raises_once() -> None:
    p = Params({"within": "x", "n": -1, "flag": 1, "extra": 0}, ("within", "n", "flag"))
    p.duration("within", 1.0)
    p.integer("n", 0, minimum=0)
    p.flag("flag", False)
    assert p.errors == [
        "extra: unknown parameter (known: flag, n, within)",
        'within: must be a duration like 30s, got "x"',
        "n: must be an integer >= 0, got -1",
        "flag: must be true or false, got 1",
    ]
    with pytest.raises(ParamError) as info:
        p.done()
    assert str(info.value).count(";") == 3 and "\n" not in str(info.value)
