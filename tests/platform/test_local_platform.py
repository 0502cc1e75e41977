"""LocalPlatform with real processes and signals: up, ready, resolve, restart, kill,
pause, resume, down."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from chaos.platforms.base import PlatformError
from chaos.platforms.local import LocalPlatform
from tests.platform.conftest import (
    alive,
    component,
    pod_doc,
    proc_state,
    running_pods,
    target,
)

Start = Callable[..., LocalPlatform]
NAME = re.compile(r"^(?P<comp>[a-z0-9-]+)-(?P<index>\d+)-[0-9a-f]{4}$")


def two_tier() -> object:
    return target(
        component("store", ports=["port"], ready={"tcp": "port"}, settings={"mode": "tcp"},
                  labels={"app": "store", "tier": "data"}),
        component("worker", replicas=2, settings={
            "store": "${component:store/port}",
            "me": "${component:worker/admin/{index}}",
            "slot": "w-{index}",
            "nested": {"list": ["${component:store/port/0}", 3]},
        }),
    )


def test_up_ready_resolve_down(start: Start) -> None:
    platform = start(two_tier(), bug="no-dlq")
    pods = platform.pods({})
    assert [p.component for p in pods] == ["store", "worker", "worker"]
    assert [p.name for p in pods] == sorted(p.name for p in pods)
    for pod in pods:
        match = NAME.match(pod.name)
        assert match and match["comp"] == pod.component and int(match["index"]) == pod.index
        assert pod.ready and pod.pid is not None and alive(pod.pid)
        assert (platform.pods_dir / f"{pod.name}.log").exists()
        assert pod.labels["component"] == pod.component
        assert pod.labels["index"] == str(pod.index)  # the replica slot, as a string
    assert platform.pods({"tier": "data"})[0].component == "store"
    assert platform.pods({"app": "worker", "index": "1"}) == [pods[2]]
    assert platform.pods({"app": "worker", "index": "2"}) == []
    assert platform.pods({"app": "worker", "component": "worker"}) == pods[1:]
    assert platform.pods({"app": "nothing"}) == []

    store_addr = platform.resolve("${component:store/port}")
    assert re.fullmatch(r"127\.0\.0\.1:\d+", store_addr)
    for worker in pods[1:]:
        doc = pod_doc(platform, worker)
        settings = doc["settings"]
        assert settings["store"] == store_addr
        assert settings["nested"] == {"list": [store_addr, 3]}
        assert settings["slot"] == f"w-{worker.index}"
        assert settings["me"] == f"127.0.0.1:{doc['ports']['admin']}"
        assert doc["bug"] == "no-dlq" and doc["index"] == worker.index
        assert doc["labels"]["index"] == str(worker.index)
        assert doc["data_dir"] == str(platform.pods_dir / "data" / f"worker-{worker.index}")
        assert doc["ca_file"] == str(platform.ca_file) and platform.ca_file.exists()
        url = platform.admin_url(worker, "admin")
        assert httpx.get(f"{url}/healthz").json()["name"] == worker.name
    pids = [p.pid for p in pods]
    platform.down()
    platform.down()  # idempotent
    assert platform.pods({}) == []
    assert not any(alive(pid) for pid in pids if pid)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${component:nope/port}", "no component named 'nope'"),
        ("${component:store/nope}", "component 'store' has no port 'nope'"),
        ("${component:store/port/3}", "component 'store' has no replica 3"),
        ("${component:store}", "expected component:NAME/PORT"),
        ("${proxy:x}", "no proxy named 'x'"),
        ("${bogus}", "unknown reference"),
    ],
)
def test_unknown_references_are_clear_errors(start: Start, text: str, message: str) -> None:
    platform = start(target(component("store", ports=["port"], ready={"tcp": "port"},
                                      settings={"mode": "tcp"})))
    with pytest.raises(PlatformError, match=re.escape(message)):
        platform.resolve(text)


def test_bad_reference_in_settings_fails_up_before_starting(start: Start) -> None:
    platform = start(target(component("w", settings={"x": "${proxy:missing}"})), up=False)
    with pytest.raises(PlatformError, match="no proxy named 'missing'"):
        platform.up()
    assert not list(platform.pods_dir.glob("*.log")), "nothing may start"


def test_failing_pod_fails_up_with_its_log_line_and_stops_the_rest(start: Start) -> None:
    platform = start(
        target(component("ok"), component("bad", settings={"fail": True})), up=False
    )
    reason = r"pod bad-0-[0-9a-f]{4} exited with code 3.*told to fail"
    with pytest.raises(PlatformError, match=reason):
        platform.up()
    (ok_log,) = platform.pods_dir.glob("ok-0-*.log")
    pid = int(re.search(r"started pid (\d+)", ok_log.read_text())[1])  # type: ignore[index]
    assert not alive(pid)


def test_killed_pod_restarts_under_new_name_with_same_ports(start: Start) -> None:
    platform = start(target(component("w", replicas=2)))
    old = platform.pods({"app": "w", "index": "1"})[0]
    old_doc = pod_doc(platform, old)
    assert old.pid is not None
    t0 = time.monotonic()
    platform.kill(old, "KILL", 0)
    assert not alive(old.pid)
    new = platform.wait_replacement(old, 20)
    assert time.monotonic() - t0 >= 0.1  # the restart backoff
    assert new.index == old.index and new.name != old.name and new.ready
    assert platform.pods({"app": "w", "index": "1"}) == [new]  # the slot keeps its index
    new_doc = pod_doc(platform, new)
    assert new_doc["ports"] == old_doc["ports"] and new_doc["data_dir"] == old_doc["data_dir"]
    assert (platform.pods_dir / f"{new.name}.log").exists()
    assert httpx.get(f"{platform.admin_url(new, 'admin')}/healthz").json()["name"] == new.name
    with pytest.raises(PlatformError, match="is not running"):
        platform.kill(old, "KILL", 0)


def test_exiting_pod_restarts_with_growing_backoff(start: Start) -> None:
    spec = target(component("flaky", settings={"exit_after": 0.3},
                            restart={"backoff": "100ms", "max_backoff": "400ms"}))
    platform = start(spec)
    time.sleep(4.0)
    logs = list(platform.pods_dir.glob("flaky-0-*.log"))
    # each life is >= 0.3 s plus the backoff before it (0.1, 0.2, 0.4, 0.4 ...): at most
    # 1 + 6 lives in 4 s (without backoff it would be ~12); at least a few restarts
    assert 3 <= len(logs) <= 8, [p.name for p in logs]


def test_restart_never_leaves_slot_empty(start: Start) -> None:
    platform = start(target(component("once", restart={"policy": "never"})))
    (pod,) = platform.pods({})
    platform.kill(pod, "TERM", 1.0)
    time.sleep(0.5)
    assert platform.pods({}) == []
    with pytest.raises(PlatformError, match="no ready replacement"):
        platform.wait_replacement(pod, 0.3)


def test_term_with_grace_escalates_to_kill(start: Start) -> None:
    platform = start(target(component("stubborn", settings={"ignore_term": True})))
    (pod,) = platform.pods({})
    t0 = time.monotonic()
    platform.kill(pod, "TERM", 0.5)
    took = time.monotonic() - t0
    assert 0.5 <= took < 10 and pod.pid is not None and not alive(pod.pid)
    log = (platform.pods_dir / f"{pod.name}.log").read_text()
    assert "ignoring TERM" in log


def test_pause_resume_and_no_restart_while_paused(start: Start) -> None:
    platform = start(target(component("w")))
    (pod,) = platform.pods({})
    assert pod.pid is not None
    platform.pause(pod)
    assert proc_state(pod.pid) == "T"
    (paused,) = platform.pods({})
    assert paused.name == pod.name and not paused.ready
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{platform.admin_url(pod, 'admin')}/healthz", timeout=0.5)
    time.sleep(1.0)
    assert platform.pods({})[0].name == pod.name  # not restarted
    platform.resume(pod)
    assert proc_state(pod.pid) != "T"
    assert platform.pods({})[0].ready
    assert httpx.get(f"{platform.admin_url(pod, 'admin')}/healthz").status_code == 200


def test_down_stops_paused_and_stubborn_pods(start: Start, tmp_path: Path) -> None:
    spec = target(component("a", settings={"ignore_term": True}), component("b"),
                  platform={"type": "local", "settings": {"grace": "500ms"}})
    platform = start(spec)
    pods = platform.pods({})
    platform.pause(pods[1])
    t0 = time.monotonic()
    platform.down()
    assert time.monotonic() - t0 < 10
    assert not any(alive(p.pid) for p in pods if p.pid)


def test_unknown_signal_and_port(start: Start) -> None:
    platform = start(target(component("w")))
    (pod,) = platform.pods({})
    with pytest.raises(PlatformError, match="unknown signal 'BOOM'"):
        platform.kill(pod, "BOOM", 0)
    with pytest.raises(PlatformError, match="no port named 'nope'"):
        platform.admin_url(pod, "nope")
    assert signal.SIGKILL  # the pod survived the bad request
    assert platform.pods({})[0].name == pod.name


def test_bug_from_argument_else_environment_else_target(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = target(component("w"), bug="no-dlq")
    monkeypatch.setenv("PIPECHAOS_REF_BUG", "no-reclaim")
    assert LocalPlatform(spec, Path("/nonexistent"), "no-compensation").bug == "no-compensation"
    platform = start(spec)
    assert platform.bug == "no-reclaim"
    (pod,) = platform.pods({})
    assert pod_doc(platform, pod)["bug"] == "no-reclaim"
    monkeypatch.delenv("PIPECHAOS_REF_BUG")
    assert LocalPlatform(spec, Path("/nonexistent"), None).bug == "no-dlq"


def test_down_during_up_stops_everything(start: Start) -> None:
    """A runner interrupted while starting (SIGTERM -> down()) leaves nothing behind."""
    spec = target(component("a"), component("b", replicas=2), component("c"))
    platform = start(spec, up=False)
    errors: list[BaseException] = []

    def run_up() -> None:
        try:
            platform.up()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run_up)
    thread.start()
    deadline = time.monotonic() + 20
    while not list(platform.pods_dir.glob("b-*.log")) and time.monotonic() < deadline:
        time.sleep(0.01)
    platform.down()
    thread.join(30)
    assert not thread.is_alive()
    assert errors and isinstance(errors[0], PlatformError), errors
    assert list(platform.pods_dir.glob("a-*.log"))
    assert running_pods(platform.run_dir) == []
    assert not list(platform.pods_dir.glob("c-*.log")), "c must never start"


def test_term_reaches_a_paused_pod(start: Start) -> None:
    platform = start(target(component("w")))
    (pod,) = platform.pods({})
    assert pod.pid is not None
    platform.pause(pod)
    t0 = time.monotonic()
    platform.kill(pod, "TERM", 5.0)
    assert time.monotonic() - t0 < 4.0, "continued, it handles TERM without the grace"
    assert not alive(pod.pid)
    assert platform.wait_replacement(pod, 20).ready


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"command": ["/nonexistent/server"]}, "cannot start w-0-[0-9a-f]{4}: /nonexistent/server"),
        ({"command": []}, "component w: no command for the local platform"),
        ({"ready": {"tcp": "nope"}}, "ready port 'nope' is not one of its ports"),
        ({"tls": {"port": "https"}}, "tls.port 'https' is not one of its ports"),
    ],
)
def test_bad_component_is_one_clear_line(start: Start, extra: dict[str, object],
                                         message: str) -> None:
    platform = start(target(component("w", **extra)), up=False)
    with pytest.raises(PlatformError, match=message) as caught:
        platform.up()
    assert "\n" not in str(caught.value)
