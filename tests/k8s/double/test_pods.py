"""Pods of the double are real processes: watch, exec, port-forward, StatefulSet identity,
grace periods, secret projection and logs, all through the official client."""

from __future__ import annotations

import base64
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.stream import portforward, stream

from chaos.platforms.supervisor import process_state
from tests.k8s.double import Cluster

pytestmark = pytest.mark.usefixtures("requires_root")
NS = "chaos"
SLEEP = ["sleep", "600"]
# PID 1 with a TERM handler that logs, then keeps running: only SIGKILL ends it
STUBBORN = ["python", "-c", "import signal, time\n"
            "signal.signal(signal.SIGTERM, lambda *a: print('got TERM', flush=True))\n"
            "print('up', flush=True)\ntime.sleep(600)"]
POLITE = ["python", "-c", "import signal, sys, time\n"
          "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
          "print('up', flush=True)\ntime.sleep(600)"]
WEB = ["python", "-m", "http.server", "8080"]


def workload(kind: str, name: str, command: list[str], replicas: int = 1, grace: int = 2,
             **pod: Any) -> dict[str, Any]:
    labels = {"app": name, "tier": "worker"}
    spec: dict[str, Any] = {
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": labels}, "spec": {
            "terminationGracePeriodSeconds": grace,
            "containers": [{"name": "main", "image": "none", "command": command,
                            "ports": [{"name": "http", "containerPort": 8080}]}], **pod}}}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def cluster(k8s_double_module: Cluster) -> Cluster:
    k8s_double_module.create_namespace(NS)
    return k8s_double_module


def deploy(cluster: Cluster, *docs: dict[str, Any]) -> None:
    cluster.apply(list(docs), namespace=NS)
    cluster.wait_ready(NS, timeout=30)


def pods_of(core: client.CoreV1Api, app: str) -> list[Any]:
    return [p for p in core.list_namespaced_pod(NS, label_selector=f"app={app}").items
            if p.metadata.deletion_timestamp is None]


def wait_for(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def test_watch_sees_delete_and_replacement(cluster: Cluster, core: client.CoreV1Api) -> None:
    deploy(cluster, workload("Deployment", "watched", SLEEP))
    listed = core.list_namespaced_pod(NS, label_selector="app=watched")
    (victim,) = listed.items
    events: list[tuple[str, str, str]] = []

    def follow() -> None:
        for ev in watch.Watch().stream(core.list_namespaced_pod, NS, label_selector="app=watched",
                                       resource_version=listed.metadata.resource_version,
                                       timeout_seconds=10):
            pod = ev["object"]
            events.append((ev["type"], pod.metadata.name, pod.metadata.uid))
            if ev["type"] == "MODIFIED" and pod.metadata.name != victim.metadata.name and ready(
                    pod):
                return

    watcher = threading.Thread(target=follow)
    watcher.start()
    core.delete_namespaced_pod(victim.metadata.name, NS, grace_period_seconds=0)
    watcher.join(15)
    assert ("DELETED", victim.metadata.name, victim.metadata.uid) in events
    added = [e for e in events if e[0] == "ADDED"]
    assert added and added[0][1] != victim.metadata.name  # a ReplicaSet pod: new name


def test_statefulset_pod_comes_back_same_name_new_uid(cluster: Cluster,
                                                      core: client.CoreV1Api) -> None:
    deploy(cluster, workload("StatefulSet", "ordinal", SLEEP, replicas=2))
    old = core.read_namespaced_pod("ordinal-1", NS)
    assert old.metadata.labels["apps.kubernetes.io/pod-index"] == "1"
    core.delete_namespaced_pod("ordinal-1", NS, grace_period_seconds=0)
    new = wait_for(lambda: next((p for p in pods_of(core, "ordinal")
                                 if p.metadata.name == "ordinal-1" and ready(p)
                                 and p.metadata.uid != old.metadata.uid), None))
    assert new.status.pod_ip == old.status.pod_ip
    assert core.read_namespaced_pod("ordinal-0", NS).metadata.uid  # untouched


def test_exec_runs_in_the_pod_namespaces(cluster: Cluster, core: client.CoreV1Api) -> None:
    deploy(cluster, workload("StatefulSet", "shell", SLEEP))
    ws = stream(core.connect_get_namespaced_pod_exec, "shell-0", NS,
                command=["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname -I;"
                         " echo oops >&2; exit 3"],
                stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
    ws.run_forever(timeout=10)
    assert ws.read_stdout().split("\n")[0].strip() == "sleep 600"  # PID 1 is the container
    assert "oops" in ws.read_stderr()
    assert ws.returncode == 3
    out = stream(core.connect_get_namespaced_pod_exec, "shell-0", NS,
                 command=["sh", "-c", "hostname -I 2>/dev/null || ip -4 -o addr show eth0"],
                 stdout=True, stderr=True, stdin=False, tty=False)
    assert core.read_namespaced_pod("shell-0", NS).status.pod_ip in out


def test_sigstop_to_pid1_from_inside_is_ignored(cluster: Cluster,
                                                core: client.CoreV1Api) -> None:
    """The PID-1 rule is real: what the pause fault must work around (tini, or
    shareProcessNamespace)."""
    deploy(cluster, workload("StatefulSet", "pid1", SLEEP))
    stream(core.connect_get_namespaced_pod_exec, "pid1-0", NS, command=["kill", "-STOP", "1"],
           stdout=True, stderr=True, stdin=False, tty=False)
    pid = cluster.pod_process(NS, "pid1-0")
    assert pid is not None
    time.sleep(0.2)
    assert process_state(pid) not in ("T", "t")


def test_shared_process_namespace_makes_the_app_stoppable(cluster: Cluster,
                                                          core: client.CoreV1Api) -> None:
    """With shareProcessNamespace an init is PID 1, so the app (not PID 1) can be stopped
    from inside the pod and continued again."""
    deploy(cluster, workload("StatefulSet", "shared", SLEEP, shareProcessNamespace=True))

    def sh(script: str) -> str:
        return str(stream(core.connect_get_namespaced_pod_exec, "shared-0", NS,
                          command=["sh", "-c", script], stdout=True, stderr=True, stdin=False,
                          tty=False))

    app = sh("pgrep -x sleep").split()[0]
    assert app != "1"
    sh(f"kill -STOP {app}")
    assert sh(f"cut -d' ' -f3 /proc/{app}/stat").strip() == "T"
    sh(f"kill -CONT {app}")
    assert sh(f"cut -d' ' -f3 /proc/{app}/stat").strip() in ("S", "R")


def test_port_forward_reaches_the_pod(cluster: Cluster, core: client.CoreV1Api) -> None:
    web = workload("StatefulSet", "web", WEB)
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "httpGet": {"port": "http", "path": "/"}}
    deploy(cluster, web)
    pf = portforward(core.connect_get_namespaced_pod_portforward, "web-0", NS, ports="8080")
    sock = pf.socket(8080)
    sock.settimeout(5)
    sock.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    reply = b""
    while chunk := sock.recv(4096):
        reply += chunk
    sock.close()
    assert reply.startswith(b"HTTP/1.0 200")
    # the pod IP is reachable from the host too (address_mode: direct)
    ip = core.read_namespaced_pod("web-0", NS).status.pod_ip
    with socket.create_connection((ip, 8080), timeout=3):
        pass


@pytest.mark.parametrize(("command", "grace", "low", "high"), [
    (STUBBORN, 1, 1.0, 3.0),  # handles TERM but stays: KILL after the 1 s grace
    (SLEEP, 1, 1.0, 3.0),  # PID 1 without a TERM handler ignores TERM: KILL after the grace
    (POLITE, 4, 0.0, 3.0),  # exits on TERM: gone before the grace ends
])
def test_grace_period_term_then_kill(cluster: Cluster, core: client.CoreV1Api,
                                     command: list[str], grace: int, low: float,
                                     high: float) -> None:
    name = f"grace-{grace}-{len(command)}"
    deploy(cluster, workload("StatefulSet", name, command, grace=grace))
    pod = f"{name}-0"
    uid = core.read_namespaced_pod(pod, NS).metadata.uid
    wait_for(lambda: command is SLEEP or "up" in core.read_namespaced_pod_log(pod, NS))
    started = time.monotonic()
    deleted = core.delete_namespaced_pod(pod, NS)  # the pod's own grace period
    assert deleted.metadata.deletion_timestamp is not None

    def gone() -> bool:
        found = core.list_namespaced_pod(NS, field_selector=f"metadata.name={pod}").items
        return not found or found[0].metadata.uid != uid

    if command == STUBBORN:
        wait_for(lambda: "got TERM" in (cluster.log_dir(NS, pod) or Path("/")).joinpath(
            "container-0.log").read_text())
    wait_for(gone, timeout=10)
    took = time.monotonic() - started
    assert low <= took <= high, took


def test_secret_volume_is_projected_and_updated(cluster: Cluster, core: client.CoreV1Api,
                                                tmp_path: Path) -> None:
    mount = tmp_path / "tls"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"},
              "data": {"tls.crt": base64.b64encode(b"first").decode()}}
    app = workload("StatefulSet", "tlsapp", SLEEP, volumes=[
        {"name": "tls", "secret": {"secretName": "tls"}}])
    app["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "tls", "mountPath": str(mount), "readOnly": True}]
    deploy(cluster, secret, app)

    def read() -> str:
        return str(stream(core.connect_get_namespaced_pod_exec, "tlsapp-0", NS,
                          command=["cat", f"{mount}/tls.crt"], stdout=True, stderr=True,
                          stdin=False, tty=False))

    assert read() == "first"
    core.patch_namespaced_secret("tls", NS, {"data": {
        "tls.crt": base64.b64encode(b"second").decode()}})
    wait_for(lambda: read() == "second", timeout=5)
    assert not any(mount.iterdir())  # the bind mount lives only in the pod's namespace


def test_logs_and_request_record(cluster: Cluster, core: client.CoreV1Api) -> None:
    deploy(cluster, workload("StatefulSet", "talker", STUBBORN))
    wait_for(lambda: "up" in core.read_namespaced_pod_log("talker-0", NS))
    stamped = core.read_namespaced_pod_log("talker-0", NS, timestamps=True, tail_lines=1)
    assert stamped.startswith("20") and stamped.rstrip().endswith("up")
    mark = cluster.mark()
    core.read_namespaced_pod_log("talker-0", NS)
    core.delete_namespaced_pod("talker-0", NS, grace_period_seconds=0)
    assert [(r.verb, r.resource, r.subresource) for r in cluster.calls(since=mark)] == [
        ("get", "pods", "log"), ("delete", "pods", "")]


def test_rollout_restart_by_patch_replaces_pods(cluster: Cluster,
                                                core: client.CoreV1Api) -> None:
    deploy(cluster, workload("Deployment", "rolled", POLITE, replicas=2))
    before = {p.metadata.name for p in pods_of(core, "rolled")}
    apps = client.AppsV1Api(core.api_client)
    apps.patch_namespaced_deployment("rolled", NS, {"spec": {"template": {"metadata": {
        "annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}})
    wait_for(lambda: (names := {p.metadata.name for p in pods_of(core, "rolled")
                                if ready(p)}) and len(names) == 2 and not names & before)
    cluster.wait_ready(NS, timeout=15)


def test_exited_container_restarts_in_place(cluster: Cluster, core: client.CoreV1Api) -> None:
    cluster.apply(workload("StatefulSet", "crashy", ["sh", "-c", "echo run $$; sleep .5; exit 4"]),
                  namespace=NS)

    def crashy() -> Any:
        pods = core.list_namespaced_pod(NS, field_selector="metadata.name=crashy-0").items
        return pods[0] if pods else None

    uid = wait_for(crashy).metadata.uid
    pod = wait_for(lambda: (p := crashy()) and p.status.container_statuses
                   and p.status.container_statuses[0].restart_count >= 1 and p)
    assert pod.metadata.uid == uid  # same pod, same name: the kubelet restarted the container
    assert pod.status.container_statuses[0].last_state.terminated.exit_code == 4
    assert core.read_namespaced_pod_log("crashy-0", NS, previous=True).strip() == "run 1"


def test_readiness_follows_an_exec_probe_with_thresholds(cluster: Cluster,
                                                         core: client.CoreV1Api,
                                                         tmp_path: Path) -> None:
    flag = tmp_path / "ready"
    flag.touch()
    app = workload("StatefulSet", "probed", SLEEP)
    app["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["test", "-e", str(flag)]}, "failureThreshold": 3}
    deploy(cluster, app)
    flag.unlink()
    started = time.monotonic()
    wait_for(lambda: not ready(core.read_namespaced_pod("probed-0", NS)))
    assert time.monotonic() - started >= 0.4  # three failed probes 0.2 s apart, not one
    flag.touch()
    wait_for(lambda: ready(core.read_namespaced_pod("probed-0", NS)))


def test_log_follow_and_since(cluster: Cluster, core: client.CoreV1Api) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "printer"},
                   "spec": {"restartPolicy": "Never", "containers": [{
                       "name": "p", "command": ["sh", "-c", "echo a; sleep 1; echo b"]}]}},
                  namespace=NS)
    wait_for(lambda: cluster.pod_process(NS, "printer"))
    followed = core.read_namespaced_pod_log("printer", NS, follow=True, _preload_content=False)
    assert followed.data.decode() == "a\nb\n"  # returned once the container ended
    wait_for(lambda: core.read_namespaced_pod("printer", NS).status.phase == "Succeeded")
    assert core.read_namespaced_pod_log("printer", NS, since_seconds=60) == "a\nb\n"
    time.sleep(1.1)
    assert core.read_namespaced_pod_log("printer", NS, since_seconds=1) == ""


def test_volumes_over_the_checkout_hide_neither_it_nor_other_volumes(
        cluster: Cluster, core: client.CoreV1Api) -> None:
    """A chart's emptyDir at /tmp (and one over the checkout's parent) must not hide the
    checkout, its venv, or a secret volume whose source lives under /tmp: as in a real pod,
    where a volume never hides the image's files or another volume."""
    from tests.k8s.double.cluster import REPO

    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hidden-tls"},
              "data": {"tls.crt": base64.b64encode(b"visible").decode()}}
    app = workload("StatefulSet", "covered", WEB, volumes=[
        {"name": "tmp", "emptyDir": {}}, {"name": "home", "emptyDir": {}},
        {"name": "tls", "secret": {"secretName": "hidden-tls"}}])
    app["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "tls", "mountPath": "/tmp/tls", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "home", "mountPath": str(REPO.parent)}]
    deploy(cluster, secret, app)

    def run(*command: str) -> str:
        return str(stream(core.connect_get_namespaced_pod_exec, "covered-0", NS,
                          command=list(command), stdout=True, stderr=True, stdin=False,
                          tty=False))

    assert run("cat", "/tmp/tls/tls.crt") == "visible"
    assert run("sh", "-c", f"test -f {REPO}/pyproject.toml && echo kept") == "kept\n"
    with tempfile.NamedTemporaryFile(dir="/tmp", prefix="host-only-") as host_file:
        listing = run("ls", "/tmp").split()
    assert "tls" in listing and Path(host_file.name).name not in listing  # the emptyDir
