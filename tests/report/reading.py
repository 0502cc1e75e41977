"""Read the reports back the way their consumers do: the JUnit schema and a JUnit parser,
the HTML's data attributes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import junitparser
from lxml import etree, html

XSD = Path(__file__).resolve().parent / "junit-10.xsd"


def validate_junit(path: Path) -> None:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.parse(str(path))
    assert schema.validate(doc), f"{path}: {schema.error_log}"


def junit_cases(path: Path) -> dict[str, junitparser.TestCase]:
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
    assert len(suites) == 1, "one testsuite per run"
    return {case.name: case for case in suites[0]}


def result_of(run_dir: Path) -> dict[str, Any]:
    data = json.loads((run_dir / "result.json").read_text())
    assert isinstance(data, dict)
    return data


def page(run_dir: Path, name: str = "report.html") -> Any:
    return html.fromstring((run_dir / name).read_bytes())
