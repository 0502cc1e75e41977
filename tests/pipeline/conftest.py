from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.harness import Deployment


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """Broker + three services, no consumers yet; everything killed afterwards."""
    dep = Deployment(tmp_path)
    try:
        broker = dep.start_broker(wait=False)
        dep.start_services()
        dep.wait_ready(broker)
        yield dep
    finally:
        dep.stop_all()
