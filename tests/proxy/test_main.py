"""`python -m chaos.proxy`: toxiproxy-server's flags, -config, one-line errors, SIGTERM -> 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from chaos.proxy.main import main
from tests.proxy.conftest import ROOT, start_server, stop_server
from tests.proxy.upstreams import Upstream, connect, free_port, rtt


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaos.proxy", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_version_flag() -> None:
    r = run("-version")
    assert (r.returncode, r.stdout, r.stderr) == (0, "2.8.0\n", "")


def test_bad_flags_are_one_line_errors(tmp_path: Path) -> None:
    for argv in (["-port", "abc"], ["--nope"], ["-port", "70000"],
                 ["-config", str(tmp_path / "missing.json")]):
        r = run(*argv)
        assert r.returncode == 2, argv
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("pipechaos proxy: "), r.stderr
        assert "Traceback" not in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "x"}]')
    r = run("-config", str(bad))
    assert r.returncode == 2 and "missing required field: upstream at proxy 1" in r.stderr


def test_busy_api_port_is_a_clear_error() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = run("-host", "127.0.0.1", "-port", str(busy.getsockname()[1]))
    assert r.returncode == 1 and "cannot listen" in r.stderr and "Traceback" not in r.stderr


def test_config_seed_single_dash_flags_and_sigterm(tmp_path: Path, echo_up: Upstream) -> None:
    listen = f"127.0.0.1:{free_port()}"
    cfg = tmp_path / "proxies.json"
    cfg.write_text(json.dumps([{"name": "cfg", "listen": listen, "upstream": echo_up.address}]))
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    proc = start_server([sys.executable, "-m", "chaos.proxy", "-host", "127.0.0.1", "-port",
                         str(port), "-config", str(cfg), "-seed", "5", "-proxy-metrics"], api)
    try:
        assert httpx.get(f"{api}/proxies/cfg").json()["listen"] == listen
        with connect(listen) as s:
            assert rtt(s) < 0.5
    finally:
        code = stop_server(proc)
    assert code == 0


def test_main_is_callable_in_process() -> None:
    assert main(["--version"]) == 0
    assert main(["--port", "-1"]) == 2
