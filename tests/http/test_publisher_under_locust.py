"""The `http` publisher inside the real Locust load processes (gevent): every order ends ok,
fail or info as the server answered, and the server received every `ok` order exactly once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chaos.checks.model import FAIL, INFO, OK
from chaos.load.history import read_history
from chaos.load.launcher import LoadError, LoadGenerator
from chaos.spec.models import Load
from chaos.spec.structs import decode
from tests.load.window import load_through

from .server import HttpServer

ANSWERS: dict[int, int | str] = {0: 200, 1: 201, 2: 200, 3: 422, 4: 503, 5: 200, 6: "slow"}


def test_locust_load_through_the_http_publisher(server: HttpServer, tmp_path: Path) -> None:
    server.plan = lambda order_id: ANSWERS[order_id % 7]
    gen, stats = load_through("http", {"url": f"{server.url}/orders", "timeout": "500ms"},
                              tmp_path / "run", "100/s", 2)
    assert stats["offered"] == 200
    h = read_history(gen.paths.run_dir)
    assert h.order_id.tolist() == list(range(200))
    kind = np.array([ANSWERS[i % 7] for i in range(200)], dtype=object)
    expected = np.where(np.isin(kind, [200, 201]), OK,
                        np.where(kind == 422, FAIL, INFO))  # 503 and slow (timeout): info
    assert h.outcome.tolist() == expected.tolist()
    ok_ids = set(h.order_id[h.outcome == OK].tolist())
    assert {i for i, n in server.seen.items() if n == 1} >= ok_ids
    assert set(server.seen) == set(range(200)) and max(server.seen.values()) == 1
    assert stats["counts"]["ok"] == len(ok_ids)
    errors = {h.error[c] for c in h.error_code[h.outcome != OK].tolist()}
    assert errors == {"HTTP 422", "HTTP 503", "ReadTimeout"}
    # gevent kept publishing while the slow ones waited: invokes stayed on the 10 ms schedule
    gaps = np.diff(h.t_invoke)
    assert gaps.max() < 200e6, gaps.max()


def test_bad_settings_stop_the_load_with_one_line(tmp_path: Path) -> None:
    gen = LoadGenerator(decode(Load, {"rate": "10/s", "duration": "1s"}), "http",
                        {"url": "http://127.0.0.1:1/orders", "ok": [200], "fail": [200]},
                        tmp_path / "run", "r", seed=1)
    try:
        with pytest.raises(LoadError) as err:
            gen.start()
    finally:
        gen.close()
    assert "http settings ok and fail both name status 200" in str(err.value)
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)
