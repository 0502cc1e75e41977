"""A run on a shared proxy server (`proxy_server: {url}`) that is SIGKILLed during a fault:
`pipechaos rollback` removes its toxics AND the proxies it created, as down() would, and
leaves the proxies the server already had (one of them with a name the target uses).
Against `pipechaos proxy` started on its own, and a real toxiproxy-server when
TOXIPROXY_SERVER names one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chaos.platforms.ports import free_port
from chaos.proxy.client import ToxiproxyClient
from chaos.run import journal as jr
from chaos.run.rollback import rollback, unfinished
from tests.platform.conftest import APP
from tests.proxy.conftest import start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]

TARGET = """\
apiVersion: pipechaos/v1
kind: Target
metadata: {name: shared-proxies}
platform: {type: local, settings: {root: %(root)s}}
proxy_server: {url: "%(url)s"}
components:
  - name: svc
    labels: {app: svc}
    command: [python, %(app)s]
    ports: [admin]
    ready: {http: admin, path: /healthz, timeout: 20s}
proxies:
  - {name: hop-a, upstream: "${component:svc/admin}"}
  - {name: hop-b, upstream: "${component:svc/admin}"}
  - {name: found, upstream: "${component:svc/admin}"}
"""

EXPERIMENT = """\
apiVersion: pipechaos/v1
kind: Experiment
metadata: {name: shared-proxies}
target: shared-proxies
load: none
faults:
  - {type: network.latency, at: 0s, duration: 60s, proxy: hop-a, latency: 50ms}
  - {type: network.partition, at: 0s, duration: 60s, proxy: found, mode: blackhole}
timing: {duration: 60s}
"""


@pytest.fixture(params=["pipechaos-proxy", "toxiproxy"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a proxy server nobody's run started."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if request.param == "pipechaos-proxy":
        argv = [sys.executable, "-m", "chaos", "proxy", "--host", "127.0.0.1", "--port", str(port)]
    else:
        binary = os.environ.get("TOXIPROXY_SERVER")
        if not binary:
            pytest.skip("TOXIPROXY_SERVER is not set (path of a real toxiproxy-server binary)")
        argv = [binary, "-host", "127.0.0.1", "-port", str(port)]
    proc = start_server(argv, url, tmp_path / "server.log")
    try:
        yield url
    finally:
        stop_server(proc)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaos", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


def wait_journal(run_dir: Path, done: Any, proc: subprocess.Popen[str], timeout: float) -> None:
    path = run_dir / "journal.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended early ({proc.returncode}): see {run_dir}"
        if path.exists() and done(list(jr.read(path))):
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out; journal: {path.read_text() if path.exists() else '-'}")


def test_rollback_deletes_the_proxies_a_killed_run_created(shared: str, tmp_path: Path) -> None:
    with ToxiproxyClient(shared) as c:
        c.create_proxy("found", "127.0.0.1:0", "127.0.0.1:1")  # the target's name, not its run's
        c.create_proxy("someone-else", "127.0.0.1:0", "127.0.0.1:1")
    (tmp_path / "target.yaml").write_text(TARGET % {"root": ROOT, "url": shared, "app": APP})
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    run_dir = tmp_path / "run"
    env = {**os.environ, "PIPECHAOS_LOCK_DIR": str(tmp_path / "locks")}
    runner = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", "exp.yaml", "--target", "target.yaml",
         "--run-dir", str(run_dir)],
        cwd=tmp_path, env=env, text=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "runner.err").open("w"),
    )  # fmt: skip
    try:
        def both_verified(entries: list[dict[str, Any]]) -> bool:
            return sum(e.get("state") == "verified" for e in entries) == 2

        wait_journal(run_dir, both_verified, runner, 60)
        with ToxiproxyClient(shared) as c:
            live = c.proxies()
            assert sorted(live) == ["found", "hop-a", "hop-b", "someone-else"]
            assert [t["type"] for t in c.toxics("hop-a")] == ["latency"]
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    entries = list(jr.read(run_dir / "journal.jsonl"))
    assert jr.leftover_proxies(entries) == {shared: ["hop-a", "hop-b"]}

    rb = cli("rollback", str(run_dir), "--json", cwd=tmp_path)
    assert rb.returncode == 0, rb.stderr
    (report,) = json.loads(rb.stdout)
    assert sorted(report["deleted_proxies"]) == [f"{shared} hop-a", f"{shared} hop-b"]
    with ToxiproxyClient(shared) as c:
        live = c.proxies()
        assert sorted(live) == ["found", "someone-else"], "only the run's own proxies go"
        assert all(not p.get("toxics") for p in live.values()), live
    assert jr.leftover_proxies(list(jr.read(run_dir / "journal.jsonl"))) == {}
    again = cli("rollback", str(run_dir), "--json", cwd=tmp_path)
    assert json.loads(again.stdout)[0]["skipped"] == "nothing left applied"


def test_proxies_on_an_unreachable_server_stay_journaled(tmp_path: Path) -> None:
    """A run that ended while its shared server was unreachable is still unfinished; rollback
    names what it could not delete and keeps it journaled for a later try."""
    run_dir = tmp_path / "runs" / "r1"
    run_dir.mkdir(parents=True)
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens
    path = run_dir / "journal.jsonl"
    jr.append(path, "run_start", pid=999_999_999)
    jr.append(path, jr.PROXIES_CREATED, url=url, names=["a", "b"])
    jr.append(path, jr.PROXIES_DELETED, url=url, names=["a"])
    jr.append(path, "run_end", status="passed")
    assert unfinished(tmp_path / "runs") == [run_dir]
    report = rollback(run_dir)
    assert report.deleted_proxies == [] and report.skipped is None
    assert report.failed == [f"proxy b on {url}: not deleted (server unreachable?)"]
    assert jr.leftover_proxies(list(jr.read(path))) == {url: ["b"]}
