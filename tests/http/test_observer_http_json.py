"""The `http-json` observer against a real HTTP server: the tables become observations.json;
an unreachable endpoint or a malformed body is one line in prepare()."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from chaos.checks.observations_file import read_observations
from chaos.observers.base import ObserverError
from chaos.observers.http_json import HttpJsonObserver
from chaos.platforms.ports import free_port
from chaos.registry import observers
from tests.core.core_helpers import run_stopped_in_prepare

from .server import HttpServer

TABLES: dict[str, Any] = {
    "orders": [
        [2, "dead_lettered", None, 4, 300, 1, 3],
        {"order_id": 1, "outcome": "completed", "t_terminal": 1_700_000_000_000_000_000,
         "redeliveries": 1, "value": 250, "qty": 2, "points": 2, "extra": "ignored"},
    ],
    "effects": [["order.apply", 1, 2], {"effect": "order.apply", "order_id": 2, "count": 0}],
    "dead_letters": [[2, 5, "bad json\nsecond line"]],
    "totals": [["charged", 500]],
    "drained": [[True]],
}


def observer(url: str, **extra: Any) -> HttpJsonObserver:
    return HttpJsonObserver({"url": url, "max_attempts": 5, "effects": ["order.apply"],
                             "tables": ["totals", "drained"], **extra})


def test_is_registered() -> None:
    assert observers.get("http-json") is HttpJsonObserver


def test_tables_become_observations(server: HttpServer, tmp_path: Path) -> None:
    server.json_body = TABLES
    obs = observer(f"{server.url}/state")
    obs.prepare()
    assert obs.drained()
    obs.observe("run-9", tmp_path / "observations.json")
    doc = orjson.loads((tmp_path / "observations.json").read_bytes())
    assert doc["observer"] == "http-json" and doc["run_id"] == "run-9"
    assert doc["orders"] == {
        "order_id": [1, 2], "outcome": [1, 3], "t_terminal": [1_700_000_000_000_000_000, -1],
        "redeliveries": [1, 4], "value": [250, 300], "qty": [2, 1], "points": [2, 3]}
    assert doc["effects"] == {"order.apply": {"order_id": [1], "count": [2]}}
    assert doc["dead_letters"] == {"order_id": [2], "attempts": [5], "reason": ["bad json"]}
    assert doc["totals"] == {"charged": 500}
    loaded = read_observations(tmp_path / "observations.json")  # the checkers can read it
    assert loaded.order_id.tolist() == [1, 2]


@pytest.mark.parametrize(("body", "message"), [
    (b"<html>", "the body is not JSON"),
    ([], "the body must be an object of tables, got list"),
    ({"orders": [], "effects": []}, "missing table(s) dead_letters, drained, totals"),
    ({**TABLES, "orders": {"a": 1}}, "table orders must be a list of rows"),
    ({**TABLES, "effects": [["order.apply", 1]]},
     "table effects row 0 must be an array or object of (effect, order_id, count)"),
    ({**TABLES, "dead_letters": [{"order_id": 1, "why": "x"}]},
     "table dead_letters row 0 lacks attempts, reason"),
])
def test_malformed_body_is_one_line_in_prepare(server: HttpServer, body: Any,
                                               message: str) -> None:
    server.json_body = body
    with pytest.raises(ObserverError) as err:
        observer(f"{server.url}/state").prepare()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unreachable_and_http_errors_are_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}/state"
    with pytest.raises(ObserverError, match=f"^http-json observer cannot reach {url}: "
                                            f"ConnectError"):
        observer(url).prepare()


def test_not_found_is_one_line(server: HttpServer) -> None:
    with pytest.raises(ObserverError, match=r"/nothing: HTTP 404$"):
        observer(f"{server.url}/nothing").prepare()


@pytest.mark.parametrize(("settings", "message"), [
    ({"url": "x"}, "setting url must be an http:// or https:// URL, got 'x'"),
    ({"url": "http://h/", "tables": ["orders"]}, "setting tables: a list of optional tables"),
    ({"url": "http://h/", "colour": 1}, "unknown http-json observer setting(s): colour"),
    ({"url": "http://h/", "timeout": 3}, "setting timeout: must be a duration"),
])
def test_bad_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ObserverError) as err:
        HttpJsonObserver(settings)
    assert message in str(err.value)


def test_unreachable_endpoint_exits_3_before_any_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/state"
    reason = run_stopped_in_prepare(
        tmp_path, monkeypatch, {"type": "http-json", "settings": {"url": url}})
    assert reason.startswith(f"observer http-json: http-json observer cannot reach "
                             f"{url}: ConnectError")


def test_the_documented_body_is_read(server: HttpServer, tmp_path: Path) -> None:
    """docs/own-pipeline.md's worked example, served as it stands."""
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "own-pipeline.md").read_text()
    server.json_body = json.loads(re.findall(r"```json\n(.*?)```", text, re.S)[0])
    obs = observer(f"{server.url}/state")
    obs.prepare()
    doc = obs.collect("r")
    assert doc["orders"]["outcome"] == [1, 3] and doc["totals"] == {"charged": 250}
    assert doc["dead_letters"]["attempts"] == [5]
