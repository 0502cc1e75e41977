"""The plots of report.html: one static SVG (matplotlib, imported only here), every fault
occurrence shaded in every panel (a span, or a line for an instant fault) and labelled in
the top one. The top panel's mark of each occurrence carries `data-occurrence="<id>"`
(the others `data-shade`), so tests and tools find exactly one mark per occurrence."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from chaos.report.series import Series

COLORS = ("#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_MARK = re.compile(r'<g id="pcocc-(\d+)-(\d+)">')
_LABEL = re.compile(r'<g id="pclbl-(\d+)">')
_HEADER = re.compile(r"\A.*?(?=<svg)", re.S)


def _panels(s: Series) -> list[tuple[str, list[tuple[str, Any, Any, str]]]]:
    """(title, [(label, x, y, color)]) per panel, in the issue's order."""
    x, p = s.seconds, s.per_second
    ts, v = s.sample_t, s.sampled
    nan = np.full(len(ts), np.nan)
    return [
        ("publishes / s", [("ok", x, p["publish_ok"], "#2ca02c"),
                           ("fail", x, p["publish_fail"], "#d62728"),
                           ("info", x, p["publish_info"], "#ff7f0e")]),
        ("completions / s", [("completed", x, p["completions"], "#1f77b4")]),
        ("lag and pending", [("lag", ts, v.get("lag", nan), "#9467bd"),
                             ("pending", ts, v.get("pending", nan), "#8c564b")]),
        ("latency (ms) by publish second", [("p50", x, p["p50"], "#17becf"),
                                            ("p99", x, p["p99"], "#1f77b4")]),
        ("pods ready", [("ready", ts, v.get("pods_ready", nan), "#7f7f7f")]),
    ]


def _colors(occurrences: list[dict[str, Any]]) -> dict[str, str]:
    kinds = sorted({str(o["fault"]) for o in occurrences})
    return {k: COLORS[i % len(COLORS)] for i, k in enumerate(kinds)}


def plot_svg(s: Series, occurrences: list[dict[str, Any]]) -> str:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.transforms import blended_transform_factory

    panels = _panels(s)
    colors = _colors(occurrences)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pipechaos",
                                "font.size": 9, "axes.spines.top": False,
                                "axes.spines.right": False}):
        # a fixed layout: constrained layout drew the whole figure twice
        fig = Figure(figsize=(10, 1.9 * len(panels)))
        fig.subplots_adjust(left=0.07, right=0.98, top=0.97, bottom=0.05, hspace=0.35)
        axes = fig.subplots(len(panels), 1, sharex=True)
        for row, (ax, (title, lines)) in enumerate(zip(axes, panels, strict=True)):
            for label, xs, ys, color in lines:
                ax.plot(xs, ys, label=label, color=color, linewidth=1.2)
            ax.set_title(title, loc="left", fontsize=9)
            ax.grid(True, alpha=0.3)
            ax.legend(loc="upper right", fontsize=7, frameon=False)
            for n, occ in enumerate(occurrences):
                color, gid = colors[str(occ["fault"])], f"pcocc-{n}-{row}"
                if occ["instant"]:
                    ax.axvline(occ["start_s"], color=color, linewidth=1.5, linestyle="--",
                               gid=gid)
                else:
                    ax.axvspan(occ["start_s"], occ["end_s"], color=color, alpha=0.15,
                               linewidth=0, gid=gid)
            if row == 0:
                where = blended_transform_factory(ax.transData, ax.transAxes)
                for n, occ in enumerate(occurrences):
                    ax.text(occ["start_s"], 1.02, f"{occ['id']} {occ['fault']}", fontsize=7,
                            color=colors[str(occ["fault"])], transform=where,
                            gid=f"pclbl-{n}", clip_on=False)
        axes[-1].set_xlabel("seconds since load start (t0)")
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return _mark(buf.getvalue(), occurrences)


def _mark(svg: str, occurrences: list[dict[str, Any]]) -> str:
    """Inline-ready SVG: no XML prolog or DOCTYPE, and the fault marks as data attributes."""
    ids = [str(o["id"]) for o in occurrences]

    def mark(m: re.Match[str]) -> str:
        occ, row = ids[int(m.group(1))], int(m.group(2))
        attr = "data-occurrence" if row == 0 else "data-shade"
        return f'<g id="pcocc-{m.group(1)}-{row}" class="fault-mark" {attr}="{occ}">'

    def label(m: re.Match[str]) -> str:
        return f'<g id="pclbl-{m.group(1)}" class="fault-label">'

    svg = _HEADER.sub("", svg, count=1)
    return _LABEL.sub(label, _MARK.sub(mark, svg))
