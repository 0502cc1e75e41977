"""A real headless Chromium opens report.html of a real run from disk: it draws
something, logs no error and asks the network for nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.chromium import PACKAGE, chromium_binary, ink, visit

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(chromium_binary() is None,
                       reason=f"chromium not installed (Debian package `{PACKAGE}`)"),
]


def test_report_opens_offline_in_chromium(passed_run: Path) -> None:
    report = passed_run / "report.html"
    page = visit(report)
    assert page.console_errors == []
    assert [u for u in page.requests if u != report.resolve().as_uri()] == []
    covered, colors = ink(page.png)
    assert covered > 0.05 and colors > 20, (covered, colors)  # text, tables and plots


def test_a_page_that_reaches_out_is_caught(tmp_path: Path) -> None:
    """The recorder's negative control: a page with a remote image and a script error."""
    page_file = tmp_path / "bad.html"
    page_file.write_text('<html><body><img src="http://192.0.2.1/x.png">'
                         "<script>no_such_function()</script><p>x</p></body></html>")
    page = visit(page_file, width=400, height=300)
    assert "http://192.0.2.1/x.png" in page.requests
    assert any("no_such_function" in e or "ReferenceError" in e for e in page.console_errors), (
        page.console_errors)
    covered, _ = ink(page.png)
    assert covered < 0.05  # almost blank: the check above has something to tell apart
