"""charts/pipechaos-reference deploys the layout targets/reference-k8s.yaml attaches to
(docs/platforms.md "Kubernetes layout of the reference pipeline")."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from cryptography import x509

from targets.reference.pod import from_downward_api, parse_pod
from tests.charts.render import REFERENCE_SETS, find, one, reference_target, render

DOC_PROXIES = [  # docs/platforms.md "Proxies": name, listen port, upstream, Service port name
    ("producer-broker", 16379, "redis:6379", "producer-broker"),
    ("consumer-0-broker", 16380, "redis:6379", "consumer-0"),
    ("consumer-1-broker", 16381, "redis:6379", "consumer-1"),
    ("consumer-2-broker", 16382, "redis:6379", "consumer-2"),
    ("consumer-inventory", 18080, "inventory:8080", "inventory"),
    ("consumer-payment", 18443, "payment:8443", "payment"),
    ("consumer-points", 18081, "points:8080", "points"),
]


def pod_template(docs: list[dict[str, Any]], workload: str) -> dict[str, Any]:
    kind, name = workload.split("/")
    spec: dict[str, Any] = one(docs, kind, name)["spec"]
    return spec


def main_container(docs: list[dict[str, Any]], workload: str) -> dict[str, Any]:
    (container,) = pod_template(docs, workload)["template"]["spec"]["containers"]
    return container


def check_components(docs: list[dict[str, Any]], target: dict[str, Any]) -> None:
    """AssertionError unless every component of `target` is deployed as it names it."""
    secrets = {s["metadata"]["name"] for s in find(docs, "Secret")}
    for comp in target["components"]:
        spec = pod_template(docs, comp["workload"])
        where = f"{comp['name']} ({comp['workload']})"
        assert spec["replicas"] == comp.get("replicas", 1), where
        labels = spec["template"]["metadata"]["labels"]
        assert comp["labels"].items() <= labels.items(), where
        assert spec["selector"]["matchLabels"].items() <= comp["labels"].items(), where
        container = main_container(docs, comp["workload"])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        service = one(docs, "Service", comp["workload"].split("/")[1])
        svc_ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
        assert service["spec"]["selector"].items() <= labels.items(), where
        for port in comp["ports"]:
            assert port in ports and svc_ports.get(port) == ports[port], f"{where} port {port}"
        if comp["workload"].startswith("StatefulSet/"):
            assert spec["serviceName"] == service["metadata"]["name"]
        tls = comp.get("tls")
        if tls:
            assert tls["port"] in ports
            volumes = spec["template"]["spec"]["volumes"]
            assert {"name": "tls", "secret": {"secretName": tls["secret"]}} in volumes
            assert not secrets or tls["secret"] in secrets  # made here, or the user's


@pytest.mark.parametrize("value_set", REFERENCE_SETS)
def test_every_component_of_the_target_exists_as_it_names_it(value_set: str) -> None:
    docs = render("pipechaos-reference", value_set)
    check_components(docs, reference_target())
    assert one(docs, "Service", "consumer")["spec"]["clusterIP"] == "None"
    for secret in find(docs, "Secret"):
        assert secret["type"] == "kubernetes.io/tls"


def test_the_agreement_check_catches_a_drift() -> None:
    """Negative control: a port the target names that the chart lacks, a missing tier label."""
    docs = render("pipechaos-reference", "default")
    target = reference_target()
    target["components"][1]["ports"] = ["http", "metrics"]
    with pytest.raises(AssertionError, match="metrics"):
        check_components(docs, target)
    consumer = one(docs, "StatefulSet", "consumer")
    del consumer["spec"]["template"]["metadata"]["labels"]["tier"]
    with pytest.raises(AssertionError, match="consumer"):
        check_components(docs, reference_target())


@pytest.mark.parametrize("value_set", REFERENCE_SETS)
def test_proxies_are_preloaded_as_the_target_and_the_doc_name_them(value_set: str) -> None:
    docs = render("pipechaos-reference", value_set)
    target = reference_target()
    config = json.loads(one(docs, "ConfigMap", "toxiproxy-config")["data"]["toxiproxy.json"])
    assert config == [{"name": n, "listen": f"0.0.0.0:{p}", "upstream": u, "enabled": True}
                      for n, p, u, _ in DOC_PROXIES]
    by_name = {p["name"]: p for p in config}
    services = {s["metadata"]["name"]: s for s in find(docs, "Service")}
    for proxy in target["proxies"]:
        preloaded = by_name[proxy["name"]]
        assert preloaded["listen"] == proxy["listen"], proxy["name"]
        ref = re.fullmatch(r"\$\{component:([a-z0-9-]+)/([a-z0-9-]+)\}", proxy["upstream"])
        assert ref, proxy["upstream"]
        svc_ports = {p["name"]: p["port"] for p in services[ref[1]]["spec"]["ports"]}
        assert preloaded["upstream"] == f"{ref[1]}:{svc_ports[ref[2]]}", proxy["name"]
    server = target["proxy_server"]
    proxy_svc = services[server["service"]]
    svc_ports = {p["name"]: p["port"] for p in proxy_svc["spec"]["ports"]}
    container = main_container(docs, "Deployment/toxiproxy")
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert svc_ports[server["port"]] == container_ports[server["port"]] == 8474
    for name, port, _, port_name in DOC_PROXIES:
        assert svc_ports[port_name] == container_ports[port_name] == port, name
    labels = pod_template(docs, "Deployment/toxiproxy")["template"]["metadata"]["labels"]
    assert labels["app"] == "toxiproxy" and labels["app.kubernetes.io/component"] == "proxy"
    for i in range(3):  # each consumer slot's own broker proxy, by Service name
        (port,) = services[f"consumer-{i}-broker"]["spec"]["ports"]
        assert port == {"name": "redis", "port": 6379, "targetPort": 16380 + i}
        assert services[f"consumer-{i}-broker"]["spec"]["selector"] == {"app": "toxiproxy"}


@pytest.mark.parametrize("value_set", REFERENCE_SETS)
def test_proxy_server_image_and_command(value_set: str) -> None:
    container = main_container(render("pipechaos-reference", value_set), "Deployment/toxiproxy")
    if value_set == "toxiproxy":
        assert container["image"].startswith("ghcr.io/shopify/toxiproxy:")
        assert "command" not in container  # the image's own entrypoint, /toxiproxy
        assert container["args"] == ["-host", "0.0.0.0", "-port", "8474",
                                     "-config", "/config/toxiproxy.json"]
    else:
        assert container["command"][3:] == ["pipechaos", "proxy", "--host", "0.0.0.0", "--port",
                                            "8474", "--config", "/config/toxiproxy.json"]
    assert {"name": "config", "mountPath": "/config", "readOnly": True} in \
        container["volumeMounts"]


@pytest.mark.parametrize("value_set", REFERENCE_SETS)
def test_each_pod_config_parses_as_the_reference_processes_read_it(value_set: str) -> None:
    docs = render("pipechaos-reference", value_set)
    for comp in reference_target()["components"]:
        container = main_container(docs, comp["workload"])
        env = {e["name"]: e for e in container["env"]}
        assert {"POD_NAME", "POD_UID", "POD_NAMESPACE"} <= env.keys()
        stateful = comp["workload"].startswith("StatefulSet/")
        assert ("POD_INDEX" in env) == stateful
        fake = {"POD_NAME": f"{comp['name']}-1", "POD_UID": "0123abcd-ffff",
                "POD_INDEX": "1" if stateful else ""}
        pod = parse_pod(from_downward_api(env["PIPECHAOS_POD"]["value"], fake))
        assert pod.component == comp["name"] and pod.host == "0.0.0.0"
        assert pod.ports == {p["name"]: p["containerPort"] for p in container["ports"]}
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert str(pod.data_dir) in mounts
        assert pod.bug == ("no-reclaim" if value_set == "negative-control" else None)
        if comp["name"] == "consumer":
            assert pod.settings["redis"] == "consumer-1-broker:6379" and pod.index == 1
            assert pod.settings["payment"] == "https://toxiproxy:18443"
            assert pod.ca_file is not None and str(pod.ca_file.parent) in mounts
        if comp["name"] == "payment":
            assert pod.tls_cert is not None and str(pod.tls_cert.parent) in mounts
        if comp["name"] == "redis":
            assert pod.settings["appendfsync"] == "always"


@pytest.mark.parametrize("value_set", REFERENCE_SETS)
def test_redis_keeps_its_data_on_a_persistent_volume(value_set: str) -> None:
    spec = pod_template(render("pipechaos-reference", value_set), "StatefulSet/redis")
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    if value_set == "negative-control":
        assert claim["spec"]["storageClassName"] == "fast-ssd"
        assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    names = {v["name"] for v in spec["template"]["spec"]["volumes"]}
    assert "data" not in names  # the claim, not an emptyDir


@pytest.mark.parametrize("value_set", REFERENCE_SETS)
def test_the_proxy_api_is_reachable_only_from_the_runner(value_set: str) -> None:
    docs = render("pipechaos-reference", value_set)
    policies = find(docs, "NetworkPolicy")
    if value_set == "existing-secrets":  # networkPolicy.enabled: false
        assert policies == []
        return
    (policy,) = policies
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app": "toxiproxy"}}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    api_rules = [r for r in policy["spec"]["ingress"]
                 if {"protocol": "TCP", "port": 8474} in r["ports"]]
    assert len(api_rules) == 1
    assert api_rules[0]["from"] == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "pipechaos", "app.kubernetes.io/component": "runner"}}}]
    runner = next(d for d in render("pipechaos", "default") if d["kind"] == "CronJob")
    runner_labels = runner["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert api_rules[0]["from"][0]["podSelector"]["matchLabels"].items() <= runner_labels.items()
    others = [r for r in policy["spec"]["ingress"] if r is not api_rules[0]]
    open_ports = {p["port"] for r in others for p in r["ports"]}
    assert open_ports == {port for _, port, _, _ in DOC_PROXIES}


@pytest.mark.parametrize("value_set", REFERENCE_SETS)
def test_tls_secrets_created_or_left_to_the_user(value_set: str) -> None:
    docs = render("pipechaos-reference", value_set)
    secrets = {s["metadata"]["name"] for s in find(docs, "Secret")}
    if value_set == "existing-secrets":
        assert secrets == set()
        return
    assert secrets == {"pipechaos-ca", "payment-tls"}
    ca = x509.load_pem_x509_certificate(
        base64.b64decode(one(docs, "Secret", "pipechaos-ca")["data"]["tls.crt"]))
    cert = x509.load_pem_x509_certificate(
        base64.b64decode(one(docs, "Secret", "payment-tls")["data"]["tls.crt"]))
    assert cert.issuer == ca.subject
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    hosts = set(names.get_values_for_type(x509.DNSName))
    target_hosts = next(c for c in reference_target()["components"]
                        if c["name"] == "payment")["tls"]["hosts"]
    assert {h for h in target_hosts if not h[0].isdigit()} <= hosts
