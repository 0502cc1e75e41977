"""The double's cluster plumbing: Services and DNS from inside a pod, in-cluster API access
with a service account, and StatefulSet volume claims that outlive their pod."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.stream import stream

from tests.k8s.double import Cluster, servicenat
from tests.k8s.double.test_pods import SLEEP, WEB, ready, wait_for, workload
from tests.system import require_package

pytestmark = pytest.mark.usefixtures("requires_root")
NS = "net"


@pytest.fixture(scope="module")
def cluster(k8s_double_module: Cluster) -> Cluster:
    k8s_double_module.create_namespace(NS)
    return k8s_double_module


def sh(core: client.CoreV1Api, pod: str, script: str) -> str:
    return str(stream(core.connect_get_namespaced_pod_exec, pod, NS,
                      command=["sh", "-c", script], stdout=True, stderr=True, stdin=False,
                      tty=False))


def test_service_name_reaches_a_ready_endpoint(cluster: Cluster, core: client.CoreV1Api) -> None:
    web = workload("Deployment", "web", WEB, replicas=2)
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "httpGet": {"port": "http", "path": "/"}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    deploy_ns(cluster, web, service, workload("StatefulSet", "client", SLEEP))
    hosts = ("web", "web.net.svc", "web.net.svc.cluster.local")
    get = ("import urllib.request as u\n"
           f"for h in {hosts!r}: print(u.urlopen(f'http://{{h}}/', timeout=3).status)")
    through_userspace = cluster.proxy.connections
    assert sh(core, "client-0", f'python -c "{get}"').split() == ["200"] * 3
    ep = core.read_namespaced_endpoints("web", NS)
    assert len(ep.subsets[0].addresses) == 2
    if servicenat.available():  # DNAT in the pod's own netns: the host proxy saw nothing
        assert cluster.proxy.connections == through_userspace
        rules = sh(core, "client-0", f"nft list table ip {servicenat.TABLE}")
        ips = {a.ip for a in ep.subsets[0].addresses}
        assert all(f"{ip} . 8080" in rules for ip in ips), rules


def test_service_without_ready_endpoint_resets_at_once(cluster: Cluster,
                                                      core: client.CoreV1Api) -> None:
    require_package("nftables", why="Services as DNAT rules in each pod's netns")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nobody"},
               "spec": {"selector": {"app": "nobody"}, "ports": [{"port": 80}]}}
    deploy_ns(cluster, service, workload("StatefulSet", "lonely", SLEEP))
    probe = ("import socket, time\nt = time.monotonic()\n"
             "try: socket.create_connection(('nobody', 80), timeout=5)\n"
             "except OSError as e: print(type(e).__name__, round(time.monotonic() - t, 1))")
    out = sh(core, "lonely-0", f'python -c "{probe}"').split()
    assert out[0] == "ConnectionRefusedError" and float(out[1]) < 1.0, out


def test_in_cluster_client_uses_its_service_account(cluster: Cluster) -> None:
    code = ("from kubernetes import client, config\nconfig.load_incluster_config()\n"
            "print('version', client.VersionApi().get_code().git_version, flush=True)\n"
            "import time; time.sleep(600)")
    runner = workload("StatefulSet", "runner", ["python", "-c", code])
    deploy_ns(cluster, runner)
    log = cluster.log_dir(NS, "runner-0")
    assert log is not None
    wait_for(lambda: "version" in (log / "container-0.log").read_text(), timeout=60)
    users = {r.user for r in cluster.requests if r.path.startswith("/version")}
    assert users == {"system:serviceaccount:net:default"}


def test_volume_claim_outlives_its_pod(cluster: Cluster, core: client.CoreV1Api,
                                       tmp_path: Any) -> None:
    data = tmp_path / "data"
    sts = workload("StatefulSet", "keeper", SLEEP)
    sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": str(data)}]
    deploy_ns(cluster, sts)
    sh(core, "keeper-0", f"echo kept > {data}/file")
    uid = core.read_namespaced_pod("keeper-0", NS).metadata.uid
    core.delete_namespaced_pod("keeper-0", NS, grace_period_seconds=0)
    wait_for(lambda: [p for p in core.list_namespaced_pod(
        NS, field_selector="metadata.name=keeper-0").items if p.metadata.uid != uid and ready(p)])
    assert sh(core, "keeper-0", f"cat {data}/file").strip() == "kept"
    assert core.read_namespaced_persistent_volume_claim("data-keeper-0", NS).status.phase == \
        "Bound"


def deploy_ns(cluster: Cluster, *docs: dict[str, Any]) -> None:
    cluster.apply(list(docs), namespace=NS)
    cluster.wait_ready(NS, timeout=30)
