"""Every API route with the real server's status codes, bodies and messages (both servers
where the behaviour is shared), plus our stricter validations (embedded only)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator

import httpx
import pytest

from chaos.proxy.client import ToxiproxyClient
from tests.proxy.conftest import Server, new_proxy
from tests.proxy.upstreams import Upstream, connect, free_port, rtt

TEXT = "text/plain; charset=utf-8"


@pytest.fixture
def http(server: Server, client: ToxiproxyClient) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=5) as h:
        yield h


@pytest.fixture
def ours_http(embedded: Server, ours: ToxiproxyClient) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=embedded.api, timeout=5) as h:
        yield h


def err(resp: httpx.Response, status: int, message: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.content == json.dumps({"error": message, "status": status},
                                      separators=(",", ":")).encode() + b"\n"


def test_version_and_request_id(http: httpx.Client) -> None:
    r = http.get("/version")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json;charset=utf-8"
    assert re.fullmatch(rb'\{"version": "2\.\d+\.\d+"\}\n', r.content), r.content
    assert len(r.headers["x-toxiproxy-request-id"]) == 20


def test_unknown_path_and_wrong_method(http: httpx.Client) -> None:
    for path in ("/nope", "/proxies/", "/version/"):
        r = http.get(path)
        assert (r.status_code, r.content) == (404, b"404 page not found\n")
        assert r.headers["content-type"] == TEXT
    r = http.put("/proxies")
    assert (r.status_code, r.content) == (405, b"")
    assert "content-type" not in r.headers


def test_browser_user_agent_is_refused(http: httpx.Client) -> None:
    r = http.get("/proxies", headers={"User-Agent": "Mozilla/5.0"})
    assert (r.status_code, r.content) == (403, b"User agent not allowed\n")


def test_proxy_lifecycle(http: httpx.Client, echo_up: Upstream) -> None:
    assert http.get("/proxies").content == b"{}"
    r = http.post("/proxies", json={"name": "b", "listen": "localhost:0",
                                    "upstream": echo_up.address, "extra": 1})
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert list(body) == ["name", "listen", "upstream", "enabled", "toxics"]
    assert body["listen"].startswith("127.0.0.1:") and not body["listen"].endswith(":0")
    assert body["enabled"] is True and body["toxics"] == []
    http.post("/proxies", json={"name": "a", "listen": "127.0.0.1:0", "upstream": "nonsense"})
    err(http.post("/proxies", json={"name": "a", "listen": "127.0.0.1:0", "upstream": "x"}),
        409, "proxy already exists")
    assert list(http.get("/proxies").json()) == ["a", "b"]
    assert http.get("/proxies/b").json() == body
    r = http.patch("/proxies/b", json={"enabled": False, "name": "ignored"})
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["name"] == "b"
    r = http.post("/proxies/b", json={"enabled": True})  # deprecated POST update
    assert r.status_code == 200 and r.json()["enabled"] is True
    assert http.patch("/proxies/b", json={}).json() == body
    r = http.delete("/proxies/b")
    assert (r.status_code, r.content) == (204, b"")
    assert "content-type" not in r.headers
    err(http.delete("/proxies/b"), 404, "proxy not found")
    err(http.get("/proxies/b"), 404, "proxy not found")
    err(http.patch("/proxies/b", json={}), 404, "proxy not found")


def test_create_errors(http: httpx.Client) -> None:
    err(http.post("/proxies", json={"upstream": "x"}), 400, "missing required field: name")
    err(http.post("/proxies", json={"name": "n"}), 400, "missing required field: upstream")
    r = http.post("/proxies", content=b"")
    err(r, 400, "bad request body: EOF")
    r = http.post("/proxies", content=b"nope")
    assert r.status_code == 400 and r.json()["error"].startswith("bad request body: ")
    r = http.post("/proxies", json={"name": 5, "upstream": "x"})
    assert r.status_code == 400 and "cannot unmarshal number" in r.json()["error"]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        err(http.post("/proxies", json={"name": "n", "listen": f"127.0.0.1:{port}",
                                        "upstream": "x"}),
            500, f"listen tcp 127.0.0.1:{port}: bind: address already in use")
    r = http.post("/proxies", json={"name": "n", "listen": "not-an-address", "upstream": "x"})
    assert r.status_code == 500
    assert r.json()["error"] == "listen tcp: address not-an-address: missing port in address"


def test_toxic_routes(http: httpx.Client, client: ToxiproxyClient, echo_up: Upstream) -> None:
    name, _ = new_proxy(client, echo_up.address)
    base = f"/proxies/{name}/toxics"
    assert http.get(base).json() == []
    r = http.post(base, json={"type": "latency", "attributes": {"latency": 5}})
    assert r.status_code == 200
    assert r.content == (b'{"attributes":{"latency":5,"jitter":0},"name":"latency_downstream",'
                         b'"type":"latency","stream":"downstream","toxicity":1}')
    r = http.post(base, json={"type": "slow_close", "stream": "UpStream", "name": ""})
    assert r.json()["name"] == "slow_close_UpStream" and r.json()["stream"] == "UpStream"
    http.post(base, json={"type": "bandwidth", "name": "bw", "stream": "upstream",
                          "toxicity": 0.5, "attributes": {"rate": 9, "unknown": 1}})
    assert [t["name"] for t in http.get(base).json()] == ["slow_close_UpStream", "bw",
                                                          "latency_downstream"]
    assert [t["name"] for t in http.get(f"/proxies/{name}").json()["toxics"]] == \
        ["slow_close_UpStream", "bw", "latency_downstream"]
    err(http.post(base, json={"type": "latency", "stream": "upstream",
                              "name": "latency_downstream"}), 409, "toxic already exists")
    err(http.post(base, json={"type": "nope", "name": "bw"}), 400, "invalid toxic type")
    err(http.post(base, json={"type": "latency", "stream": "sideways", "name": "bw"}), 400,
        "stream was invalid, can be either upstream or downstream")
    r = http.post(base, json={"type": "latency", "toxicity": "x"})
    assert r.status_code == 400 and r.json()["error"].startswith("bad request body: ")
    r = http.post(base, json={"type": "latency", "attributes": {"latency": 1.5}})
    assert r.status_code == 400 and r.json()["error"].startswith("bad request body: ")
    r = http.patch(f"{base}/bw", json={"attributes": {"rate": 20}, "name": "x", "type": "latency"})
    assert r.json() == {"attributes": {"rate": 20}, "name": "bw", "type": "bandwidth",
                        "stream": "upstream", "toxicity": 0.5}
    r = http.post(f"{base}/bw", json={"toxicity": 1})
    assert r.json()["toxicity"] == 1 and r.json()["attributes"] == {"rate": 20}
    assert http.get(f"{base}/bw").json()["attributes"] == {"rate": 20}
    assert http.delete(f"{base}/bw").status_code == 204
    err(http.get(f"{base}/bw"), 404, "toxic not found")
    err(http.delete(f"{base}/bw"), 404, "toxic not found")
    err(http.patch(f"{base}/bw", json={}), 404, "toxic not found")
    err(http.get("/proxies/nope/toxics"), 404, "proxy not found")
    err(http.post("/proxies/nope/toxics", json={"type": "latency"}), 404, "proxy not found")


def test_toxic_on_disabled_proxy_and_reset(http: httpx.Client, client: ToxiproxyClient,
                                           echo_up: Upstream) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.update_proxy(name, enabled=False)
    assert http.post(f"/proxies/{name}/toxics", json={"type": "latency"}).status_code == 200
    r = http.post("/reset")
    assert (r.status_code, r.content) == (204, b"")
    after = client.proxy(name)
    assert after["enabled"] is True and after["toxics"] == []
    with connect(listen) as s:
        assert rtt(s) < 0.5


def test_populate(http: httpx.Client, echo_up: Upstream) -> None:
    port = free_port()
    item = {"name": "pop", "listen": f"127.0.0.1:{port}", "upstream": echo_up.address}
    r = http.post("/populate", json=[item])
    assert r.status_code == 201 and r.json()["proxies"][0]["name"] == "pop"
    http.post("/proxies/pop/toxics", json={"type": "latency"})
    http.post("/populate", json=[item])  # same listen and upstream: left untouched
    assert len(http.get("/proxies/pop").json()["toxics"]) == 1
    http.post("/populate", json=[{**item, "upstream": "127.0.0.1:1"}])  # replaced
    assert http.get("/proxies/pop").json()["toxics"] == []
    r = http.post("/populate", json=[])
    assert (r.status_code, r.json()) == (201, {"proxies": None})
    r = http.post("/populate", json=[item, {"name": "x"}])
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"error": "missing required field: upstream at proxy 2", "status": 400,
                        "proxies": None}
    r = http.post("/populate", json={"name": "x"})
    assert r.status_code == 400 and r.json()["error"].startswith("bad request body: ")


def test_metrics(ours_http: httpx.Client, ours: ToxiproxyClient, echo_up: Upstream) -> None:
    name, listen = new_proxy(ours, echo_up.address)
    with connect(listen) as s:
        rtt(s, b"12345")
    text = ours_http.get("/metrics").text
    labels = f'direction="upstream",listener="{listen}",proxy="{name}"'
    assert f"toxiproxy_proxy_received_bytes_total{{{labels},upstream=" in text
    line = next(x for x in text.splitlines()
                if x.startswith(f"toxiproxy_proxy_sent_bytes_total{{{labels}"))
    assert line.endswith(" 5")
    assert f'pipechaos_proxy_connections_total{{listener="{listen}",proxy="{name}"' in text


# ------------------------------------------------------------ better than the real server


def test_no_leaked_logger_key(ours_http: httpx.Client, ours: ToxiproxyClient,
                              echo_up: Upstream) -> None:
    name, _ = new_proxy(ours, echo_up.address)
    assert "Logger" not in ours_http.get(f"/proxies/{name}").text


@pytest.mark.parametrize(("toxic", "message"), [
    ({"type": "latency", "attributes": {"latency": -100}},
     "latency attribute latency must not be negative, got -100"),
    ({"type": "latency", "toxicity": 1.5}, "toxicity must be between 0 and 1, got 1.5"),
    ({"type": "latency", "toxicity": -0.5}, "toxicity must be between 0 and 1, got -0.5"),
    ({"type": "bandwidth", "attributes": {"rate": -1}},
     "bandwidth attribute rate must not be negative, got -1"),
    ({"type": "slicer", "attributes": {"average_size": 2, "size_variation": 5}},
     "slicer attribute size_variation must not exceed average_size"),
    ({"type": "slicer", "attributes": {"average_size": 0}},
     "slicer attribute average_size must be positive"),
    ({"type": "limit_data", "attributes": {"bytes": -5}},
     "limit_data attribute bytes must not be negative, got -5"),
])
def test_range_validation(ours_http: httpx.Client, ours: ToxiproxyClient, echo_up: Upstream,
                          toxic: dict[str, object], message: str) -> None:
    name, _ = new_proxy(ours, echo_up.address)
    err(ours_http.post(f"/proxies/{name}/toxics", json=toxic), 400, message)
    assert ours.toxics(name) == []


def test_rejected_update_changes_nothing(ours_http: httpx.Client, ours: ToxiproxyClient,
                                         echo_up: Upstream) -> None:
    name, _ = new_proxy(ours, echo_up.address)
    ours.add_toxic(name, "latency", attributes={"latency": 10})
    r = ours_http.patch(f"/proxies/{name}/toxics/latency_downstream",
                        json={"attributes": {"jitter": 7, "latency": "x"}})
    assert r.status_code == 400
    assert ours.toxics(name)[0]["attributes"] == {"latency": 10, "jitter": 0}


def test_listen_change_to_busy_port_leaves_proxy_as_it_was(
        ours_http: httpx.Client, ours: ToxiproxyClient, echo_up: Upstream) -> None:
    name, listen = new_proxy(ours, echo_up.address)
    live = connect(listen)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = ours_http.patch(f"/proxies/{name}", json={"listen": f"127.0.0.1:{port}"})
    assert r.status_code == 500 and "address already in use" in r.json()["error"]
    assert ours.proxy(name)["listen"] == listen and ours.proxy(name)["enabled"] is True
    assert rtt(live) < 0.5  # the live connection survived
    live.close()
    new = f"127.0.0.1:{free_port()}"
    assert ours.update_proxy(name, listen=new)["listen"] == new
    with connect(new) as s:
        assert rtt(s) < 0.5
    with pytest.raises(ConnectionRefusedError):
        connect(listen)


def test_default_listen_is_loopback(ours_http: httpx.Client) -> None:
    r = ours_http.post("/proxies", json={"name": "lo", "upstream": "127.0.0.1:9"})
    assert r.status_code == 201 and r.json()["listen"].startswith("127.0.0.1:")


def test_reset_reports_a_busy_listen_but_reenables_the_rest(
        ours_http: httpx.Client, ours: ToxiproxyClient, echo_up: Upstream) -> None:
    first, first_listen = new_proxy(ours, echo_up.address)
    second, second_listen = new_proxy(ours, echo_up.address)
    ours.update_proxy(first, enabled=False)
    ours.update_proxy(second, enabled=False)
    host, port = first_listen.rsplit(":", 1)
    with socket.socket() as squatter:
        squatter.bind((host, int(port)))
        squatter.listen()
        r = ours_http.post("/reset")
        assert r.status_code == 500 and "address already in use" in r.json()["error"]
    assert ours.proxy(second)["enabled"] is True
    with connect(second_listen) as s:
        assert rtt(s) < 0.5
    assert ours.proxy(first)["enabled"] is False
