"""Drive a real Locust load for a window, as the runner does: start, check the load
processes every 0.1 s until the window ends, stop, close."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from chaos.load.launcher import LoadGenerator
from chaos.spec.models import Load
from chaos.spec.structs import decode


def run_window(gen: LoadGenerator, t0: int, seconds: float) -> None:
    """Wait out the load window, checking the processes like the runner does."""
    while time.time_ns() < t0 + seconds * 1e9:
        gen.check()
        time.sleep(0.1)


def load_through(publisher: str, settings: dict[str, Any], run_dir: Path, rate: str,
                 seconds: float) -> tuple[LoadGenerator, dict[str, Any]]:
    """`rate` for `seconds` through `publisher`; the (closed) generator and its stats."""
    gen = LoadGenerator(decode(Load, {"rate": rate, "duration": f"{seconds:g}s"}), publisher,
                        settings, run_dir, "run-locust", seed=7)
    try:
        t0 = gen.start()
        run_window(gen, t0, seconds)
        stats = gen.stop(10)
    finally:
        gen.close()
    return gen, stats
