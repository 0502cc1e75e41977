"""Contract tests of the Kubernetes platform against the cluster double (one deployment of
the reference layout shared by the module): attach, addresses in every mode, pods by
selector, kill with replacement, pause through exec, certificate rotation via Secrets."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from chaos.platforms.base import PlatformError, Pod
from chaos.platforms.kubernetes import KubernetesPlatform
from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode
from tests.k8s import helpers
from tests.k8s.double import Cluster

pytestmark = pytest.mark.usefixtures("requires_root")


@pytest.fixture(scope="module")
def cluster(k8s_double_module: Cluster) -> Cluster:
    helpers.deploy(k8s_double_module)
    return k8s_double_module


@pytest.fixture(scope="module")
def platform(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[KubernetesPlatform]:
    p = KubernetesPlatform(helpers.target(cluster), tmp_path_factory.mktemp("run"), None)
    p.up()
    yield p
    p.down()


def _ping(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    return bool(redis.Redis(host=host, port=int(port), socket_timeout=5).ping())


def test_up_attaches_without_writing(cluster: Cluster, tmp_path: Path) -> None:
    mark = cluster.mark()
    p = KubernetesPlatform(helpers.target(cluster), tmp_path, None)
    p.up()
    try:
        assert p.created_proxies == []  # preloaded by the deployment
        assert _ping(p.resolve("${proxy:producer-broker}"))
    finally:
        p.down()
    writes = [w for w in cluster.writes(since=mark) if w.subresource != "portforward"]
    assert writes == []
    assert (tmp_path / "pods").is_dir() and any((tmp_path / "pods").glob("consumer-*.log"))


def test_up_creates_only_missing_proxies_and_down_removes_only_those(
    cluster: Cluster, tmp_path: Path
) -> None:
    """A proxy the deployment lacks is journaled (with the access map rollback needs) before
    it is created; down() deletes it and journals that, and leaves the preloaded ones."""
    from chaos.run import journal as jr

    doc = helpers.target_doc(cluster)
    doc["proxies"].append({"name": "extra-broker", "listen": "0.0.0.0:16391",
                           "upstream": "${component:redis/redis}"})
    p = KubernetesPlatform(decode(TargetSpec, doc), tmp_path, None)
    p.up()
    try:
        assert p.created_proxies == ["extra-broker"]
        assert "extra-broker" in helpers.proxy_names(cluster)
    finally:
        p.down()
    names = helpers.proxy_names(cluster)
    assert "extra-broker" not in names and "producer-broker" in names
    entries = list(jr.read(tmp_path / "journal.jsonl"))
    created = [e for e in entries if e["event"] == jr.PROXIES_CREATED]
    assert [e["names"] for e in created] == [["extra-broker"]]
    assert created[0]["access"]["namespace"] == helpers.NS
    assert created[0]["access"]["proxy_service"] == "toxiproxy"
    assert jr.leftover_proxies(entries) == {}  # nothing for rollback to do


def test_up_names_what_is_missing(cluster: Cluster, tmp_path: Path) -> None:
    doc = helpers.target_doc(cluster)
    doc["components"][-1]["replicas"] = 4
    doc["components"][-1]["ready"]["timeout"] = "1s"
    p = KubernetesPlatform(decode(TargetSpec, doc), tmp_path, None)
    with pytest.raises(PlatformError, match=r"component consumer: 3 of 4 pods Ready after 1s"):
        p.up()


def test_pods_lists_only_matching_pods(cluster: Cluster, platform: KubernetesPlatform) -> None:
    mark = cluster.mark()
    workers = platform.pods({"tier": "worker"})
    assert [p.name for p in workers] == ["consumer-0", "consumer-1", "consumer-2"]
    assert {p.labels["index"] for p in workers} == {"0", "1", "2"}
    assert all(p.uid and p.namespace == helpers.NS and p.container == "consumer"
               for p in workers)
    assert [p.name for p in platform.pods({"tier": "worker", "index": "1"})] == ["consumer-1"]
    assert platform.pods({"tier": "broker", "app": "consumer"}) == []
    lists = cluster.calls(since=mark, verbs={"list"})
    assert lists and all("labelSelector" in r.query for r in lists)
    assert all("app=consumer" in str(r.query["labelSelector"]) for r in lists)


@pytest.mark.parametrize("mode", ["port-forward", "direct"])
def test_addresses_reach_the_pipeline(cluster: Cluster, tmp_path: Path, mode: str) -> None:
    p = KubernetesPlatform(helpers.target(cluster, mode), tmp_path, None)
    p.up()
    try:
        assert _ping(p.resolve("${component:redis/redis}"))
        assert _ping(p.resolve("${proxy:consumer-1-broker}"))
        assert httpx.get(p.resolve("${proxy_api}") + "/version", timeout=5).status_code == 200
        pod = p.pods({"app": "consumer", "index": "2"})[0]
        status = httpx.get(p.admin_url(pod, "admin") + "/status", timeout=5).json()
        assert status["name"].startswith("consumer-2-")
        if mode == "direct":
            assert not p.resolve("${component:redis/redis}").startswith("127.")
    finally:
        p.down()


def test_service_mode_names_cluster_dns(cluster: Cluster) -> None:
    """The runner in a pod: Service DNS names (the double's host cannot resolve them, so
    only the names are checked here)."""
    from chaos.platforms.kubernetes.addresses import Addresses
    from chaos.platforms.kubernetes.client import connect
    from chaos.platforms.kubernetes.settings import parse

    spec = helpers.target(cluster, "service")
    api = connect(parse(spec))
    book = Addresses(api, spec, helpers.NS, "service")
    try:
        assert book.resolve("${component:redis/redis}") == "redis.pipechaos-ref.svc:6379"
        assert book.resolve("${proxy:consumer-2-broker}") == "toxiproxy.pipechaos-ref.svc:16382"
        assert book.resolve("${proxy_api}") == "http://toxiproxy.pipechaos-ref.svc:8474"
        assert book.resolve("${component:consumer/admin/1}").endswith(":9090")
        upstreams = book.cluster_upstreams("${component:redis/redis}")
        assert {"redis:6379", "redis-0.redis:6379"} <= upstreams
        assert "inventory-0.inventory:8080" not in book.cluster_upstreams(
            "${component:inventory/http}")  # a Deployment's pods have no stable DNS name
    finally:
        book.close()
        api.close()


def test_kill_statefulset_pod_comes_back_with_a_new_uid(
    cluster: Cluster, platform: KubernetesPlatform
) -> None:
    victim = platform.pods({"app": "consumer", "index": "1"})[0]
    old_identity = consumer_identity(platform, victim)
    mark = cluster.mark()
    platform.kill(victim, "KILL", 0)
    new = platform.wait_replacement(victim, 60)
    assert new.name == victim.name and new.uid != victim.uid and new.ready
    calls = cluster.calls(since=mark)
    assert [c.verb for c in calls] == ["delete", "watch", "list"]
    # same pod name, new consumer-group identity: only reclaim recovers the old one's work
    new_identity = consumer_identity(platform, new)
    assert new_identity != old_identity and new_identity.startswith("consumer-1-")


def consumer_identity(platform: KubernetesPlatform, pod: Pod) -> str:
    """The consumer name the pod reads the stream under (its admin /status)."""
    url = platform.admin_url(pod, "admin") + "/status"
    return str(httpx.get(url, timeout=10).json()["name"])


def test_kill_deployment_pod_is_replaced_under_a_new_name(platform: KubernetesPlatform) -> None:
    victim = platform.pods({"app": "points"})[0]
    platform.kill(victim, "TERM", 2)
    new = platform.wait_replacement(victim, 60)
    assert new.name != victim.name and new.ready


def test_pause_stops_the_main_process_and_resume_continues(
    platform: KubernetesPlatform,
) -> None:
    pod = platform.pods({"app": "consumer", "index": "0"})[0]
    platform.pause(pod)
    try:
        assert platform.paused(pod)
    finally:
        platform.resume(pod)
    assert not platform.paused(pod)


def test_pause_refuses_a_program_running_as_pid_1(cluster: Cluster, tmp_path: Path) -> None:
    doc = helpers.target_doc(cluster)
    doc["components"] = [{"name": "sleeper", "labels": {"app": "sleeper"}, "replicas": 1}]
    doc["proxies"] = []
    for key in ("publisher", "observer", "probes"):
        doc.pop(key)
    cluster.apply([{"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "sleeper"}, "spec": {
                        "replicas": 1, "selector": {"matchLabels": {"app": "sleeper"}},
                        "template": {"metadata": {"labels": {"app": "sleeper"}}, "spec": {
                            "containers": [{"name": "sleeper", "image": "none",
                                            "command": ["sleep", "600"]}]}}}}],
                  namespace=helpers.NS)
    p = KubernetesPlatform(decode(TargetSpec, doc), tmp_path, None)
    p.up()
    try:
        with pytest.raises(PlatformError, match=r"PID 1 is ignored.*tini.*shareProcessNamespace"):
            p.pause(p.pods({"app": "sleeper"})[0])
    finally:
        p.down()


def test_rotate_certificate_backs_up_patches_and_restores(
    cluster: Cluster, platform: KubernetesPlatform
) -> None:
    from chaos.platforms.kubernetes import secrets
    from chaos.tls.bad import BadKind, make_bad_cert

    before = cluster.get("Secret", helpers.NS, "payment-tls")
    assert before is not None
    ca_cert, ca_key = platform.certificate_authority()
    bad = make_bad_cert(BadKind.EXPIRED, ca_cert, ca_key, ["payment"])
    swap = platform.rotate_certificate("payment", bad.cert_pem, bad.key_pem)
    backup = cluster.get("Secret", helpers.NS, swap.backup)
    assert backup is not None
    assert backup["metadata"]["labels"][secrets.BACKUP_LABEL] == "payment-tls"
    patched = cluster.get("Secret", helpers.NS, "payment-tls")
    assert patched is not None
    assert base64.b64decode(patched["data"]["tls.crt"]) == bad.cert_pem
    platform.restore_certificate(swap)
    after = cluster.get("Secret", helpers.NS, "payment-tls")
    assert after is not None and after["data"] == before["data"]
    assert cluster.get("Secret", helpers.NS, swap.backup) is None


def test_pod_kill_benchmark_smoke(cluster: Cluster, platform: KubernetesPlatform) -> None:
    """benchmarks/k8s_pod_kill.py, one round: at most 3 writes or lists plus 1 watch."""
    from benchmarks.k8s_pod_kill import measure

    result = measure(cluster, platform, 1, helpers.NS)
    assert result["goal_met"], result
    assert result["watches_per_kill"] == 1


def test_crash_point_fires_and_the_container_restarts_in_place(
    platform: KubernetesPlatform, tmp_path: Path
) -> None:
    """pod.crash through the address mode: armed on consumer-0, it SIGKILLs itself on its
    next message; Kubernetes restarts the container in the same pod (same UID)."""
    import json
    import random
    import threading

    from chaos.faults.base import FaultEnv
    from chaos.faults.pod import CRASH
    from chaos.spec.structs import decode

    params = decode(CRASH.Params, {"selector": {"app": "consumer"}, "mode": "all",
                                   "point": "before-effects", "timeout": "60s"})
    env = FaultEnv(platform.target, platform, random.Random(1), tmp_path, None)
    actions = CRASH.actions(params, env)
    first = next(a for a in actions if a.pod.name == "consumer-0")  # type: ignore[attr-defined]
    others = [a for a in actions if a is not first]
    old_identity = consumer_identity(platform, first.pod)  # type: ignore[attr-defined]
    first.apply()
    host, port = platform.resolve("${proxy:producer-broker}").rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port), socket_timeout=10)
    payload = json.dumps({"sku": "sku-1", "qty": 1, "amount": 100, "customer": "c-1",
                          "card": "4242"})
    stop = threading.Event()

    def publish() -> None:  # until consumer-0 has had a message (others may take some)
        i = 0
        while not stop.wait(0.3):
            for _ in range(5):
                r.xadd("orders", {"order_id": i, "run_id": "crash-test", "payload": payload,
                                  "ts": 0})
                i += 1

    feeder = threading.Thread(target=publish, daemon=True)
    feeder.start()
    try:
        first.verify()
    finally:
        stop.set()
        feeder.join(5)
    new = first.replacement  # type: ignore[attr-defined]
    assert new is not None and new.name == "consumer-0" and new.restarts > first.pod.restarts  # type: ignore[attr-defined]
    # the same pod (name and UID) restarted its container: still a new consumer identity
    assert new.uid == first.pod.uid  # type: ignore[attr-defined]
    assert consumer_identity(platform, new) not in (old_identity, "")
    for action in others:  # never armed: revert is a no-op DELETE /crash on a live pod
        action.revert()
    first.revert()
