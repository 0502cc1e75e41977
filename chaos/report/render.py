"""Render the three reports of a run directory (pure over its files) and write them."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

FILES = {"html": "report.html", "junit": "junit.xml", "md": "summary.md"}

log = logging.getLogger(__name__)


def renderer(fmt: str) -> Callable[[Path], str]:
    """The renderer of a format (modules imported on use: html pulls in matplotlib)."""
    if fmt == "html":
        from chaos.report.html import render_html

        return render_html
    if fmt == "junit":
        from chaos.report.junit import render_junit

        return render_junit
    if fmt == "md":
        from chaos.report.markdown import render_markdown

        return render_markdown
    raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(FILES)}")


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_reports(run_dir: Path) -> list[str]:
    """Write report.html, junit.xml and summary.md into the run directory; returns the
    problems (a report that fails to render is logged, and never changes the verdict)."""
    problems = []
    for fmt, name in FILES.items():
        try:
            write_text(run_dir / name, renderer(fmt)(run_dir))
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
            log.warning("could not write %s: %s", name, exc)
    return problems
