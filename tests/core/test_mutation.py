"""Mutated valid files never produce a traceback: only exit 0 or 2 with located messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chaos.cli import main

from .core_helpers import FILES

SOURCES = [FILES / "experiments" / "markers.yaml", FILES / "targets" / "test.yaml"]
SNIPPETS = [
    "",
    " ",
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "!!binary ",
    "!!python/name:os ",
    "<<: ",
    "\t",
    "'",
    '"',
    "#",
    "---\n",
    "-1",
    "1e999",
    "0x10",
    "null",
    "yes",
    "~",
    "3o s",
    "10/s",
    "\x00",
    "\u2028",
    "%YAML 1.1\n",
    "? ",
    "|\n",
    ">\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Path, str]:
    source = draw(st.sampled_from(SOURCES))
    text = source.read_text()
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "swap_lines"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(SNIPPETS) | st.text(max_size=4)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 12)) :]
        elif op == "replace":
            text = text[:pos] + draw(st.sampled_from(SNIPPETS)) + text[pos + 1 :]
        else:
            lines = text.splitlines(keepends=True)
            if len(lines) > 1:
                i = draw(st.integers(0, len(lines) - 2))
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
            text = "".join(lines)
    return source, text


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=mutated())
@example(case=(SOURCES[0], SOURCES[0].read_text().replace("faults:\n ", "faults:\n|\n", 1)))
@example(case=(SOURCES[1], SOURCES[1].read_text() + '"a\\nb": 1\n'))
def test_mutations_never_traceback(
    case: tuple[Path, str],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, text = case
    root = tmp_path_factory.mktemp("mut")
    (root / "experiments").mkdir()
    (root / "targets").mkdir()
    kind = source.parent.name
    other = "targets/test.yaml" if kind == "experiments" else "experiments/markers.yaml"
    (root / other).write_text((FILES / other).read_text())
    path = root / kind / source.name
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    code = main(["validate", str(path)])  # any exception fails the test
    _, err = capsys.readouterr()
    assert code in (0, 2)
    if code == 2:
        assert err.strip(), "exit 2 needs a message"
        assert "Traceback" not in err
        assert all(line.startswith(str(root)) for line in err.strip().splitlines()), err
