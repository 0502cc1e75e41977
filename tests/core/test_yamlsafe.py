"""chaos.spec.yamlsafe on PyYAML reads scalars as YAML 1.2, like ruamel.yaml did, and keeps
its refusals (duplicate keys, tags, alias bombs, several documents) and positions."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from chaos.spec import yamlsafe
from chaos.spec.errors import SpecError
from chaos.spec.yamlsafe import load_text

# plain text after `a: ` -> the value (a timestamp stays text); every row was checked
# against ruamel.yaml's safe loader, which read these files before PyYAML did
SCALARS: list[tuple[str, Any]] = [
    ("yes", "yes"),
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("y", "y"),
    ("0777", 777),
    ("08", 8),
    ("0o17", 15),
    ("0x1f", 31),
    ("0b101", 5),
    ("1:30", "1:30"),
    ("1_000", 1000),
    (".inf", math.inf),
    ("-.inf", -math.inf),
    (".nan", math.nan),
    ("~", None),
    ("null", None),
    ("", None),
    ("True", True),
    ("FALSE", False),
    ("2024-01-01", "2024-01-01"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.100000-05:00"),
    ("2001-12-14 21:59:43.9999999", "2001-12-14 21:59:44"),
    ("30s", "30s"),
    ("200/s", "200/s"),
    ("1e3", 1000.0),
    ("1.", 1.0),
    ("+1", 1),
    ("-0.5", -0.5),
    ("'yes'", "yes"),
    ("!!str 12", "12"),
    ("!!int 0777", 777),
    ("!!float 1", 1.0),
    ("!!bool yes", True),
    ("!!null x", None),
]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


@pytest.fixture(params=["libyaml", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test runs with the C parser and with PyYAML's pure-Python fallback."""
    yaml = pytest.importorskip("yaml")
    if request.param == "pure":
        monkeypatch.setattr(yaml, "__with_libyaml__", False)
    elif not yaml.__with_libyaml__:
        pytest.skip("PyYAML built without libyaml")
    monkeypatch.setattr(yamlsafe, "_LOADER", None)
    yield request.param
    yamlsafe._LOADER = None  # the next test builds the default one again


@pytest.mark.parametrize(("text", "expected"), SCALARS)
def test_scalars_are_yaml_1_2(loader: str, text: str, expected: Any) -> None:
    got = load_text("f.yaml", f"a: {text}\n".encode()).data["a"]
    assert same(got, expected), (text, got)


def test_keys_are_text(loader: str) -> None:
    doc = load_text("f.yaml", b"null: 1\ntrue: 2\n1: 3\n1.0: 4\nyes: 5\n2024-01-01: 6\n")
    assert doc.data == {"null": 1, "true": 2, "1": 3, "1.0": 4, "yes": 5, "2024-01-01": 6}


def test_positions_of_nested_values(loader: str) -> None:
    doc = load_text("f.yaml", b"a:\n  - b: 1\n    c: [1, {d: 2}]\n  - x\nlast: |\n  text\n")
    assert doc.data == {"a": [{"b": 1, "c": [1, {"d": 2}]}, "x"], "last": "text\n"}
    assert doc.where(("a",)) == (2, 3)
    assert doc.where(("a", 0, "b")) == (2, 8)
    assert doc.where(("a", 0, "c", 1, "d")) == (3, 16)
    assert doc.where(("a", 0, "c", 1, "d"), key=True) == (3, 13)
    assert doc.where(("a", 1)) == (4, 5)
    assert doc.where(("last",)) == (5, 7)
    assert doc.where(("a", 0, "c", 7)) == (3, 8)  # nearest known prefix


def test_merge_keys_and_anchors(loader: str) -> None:
    text = b"base: &b {x: 1, y: 1}\nm:\n  <<: [*b, {z: 3}]\n  y: 2\nr: &b 5\ns: *b\n"
    # later keys win over merged ones; an anchor defined again means the latest (YAML 1.2)
    assert load_text("f.yaml", text).data == {
        "base": {"x": 1, "y": 1},
        "m": {"y": 2, "x": 1, "z": 3},
        "r": 5,
        "s": 5,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"a: 1\nb:\n  c: 2\n  c: 3\n", "f.yaml:4:3: b.c: duplicate key (first defined on line 3)"),
        (b"a: !!python/object:os.system {}\n", "f.yaml:1:4: a: YAML tag !!python/object:os"),
        (b"a: !!binary aGk=\n", "a: YAML tag !!binary is not allowed (plain data only)"),
        (b"a: !custom x\n", "a: YAML tag !custom is not allowed"),
        (b"a: =\n", "a: YAML tag !!value is not allowed"),
        (b"[a, b]: 1\n", "f.yaml:1:1: keys must be plain text"),
        (b"a: &a [1, *a]\n", "f.yaml:1:4: a[1]: recursive alias; refused"),
        (b"m:\n  <<: 1\n", "f.yaml:2:7: m: merge key (<<) needs a mapping"),
        (b"a: 1\n---\nb: 2\n", "f.yaml:3: more than one YAML document; put one per file"),
        (b"---\n---\na: 1\n", "more than one YAML document"),
        (b"- 1\n", "f.yaml:1:1: top level is a list; expected a mapping"),
        (b"just text\n", "top level is a single value"),
        (b"# only a comment\n", "empty file"),
        (b"a: b: c\n", "f.yaml:1:5: not valid YAML: mapping values are not allowed"),
        (b"a: [1, 2\n", "f.yaml:2:1: not valid YAML: "),
        (b"a: *nope\n", "f.yaml:1:4: not valid YAML: found undefined alias 'nope'"),
        (b"a: \x01\n", "f.yaml: not valid YAML: unacceptable character #x0001"),
        (b"a: 2024-02-30\n", "f.yaml:1:4: a: not valid YAML: '2024-02-30' is not a valid"),
        (b"a: 0x_\n", "a: not valid YAML: '0x_' is not a valid !!int"),
        (b"a: !!bool maybe\n", "a: not valid YAML: 'maybe' is not a valid !!bool"),
        (b"a: !!timestamp x\n", "a: not valid YAML: 'x' is not a valid !!timestamp"),
        (b"x: " + b"[" * 5000 + b"]" * 5000, "not valid YAML: "),
    ],
)
def test_refusals(loader: str, text: bytes, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        load_text("f.yaml", text)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_alias_bomb_is_refused(loader: str) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(SpecError, match="more than 100000 values"):
        load_text("f.yaml", "\n".join(lines).encode())
