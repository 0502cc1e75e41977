"""The Kubernetes layout of the reference pipeline (docs/platforms.md) as API objects, for
the cluster double. The pipechaos-reference Helm chart deploys the same."""

from __future__ import annotations

import base64
import json
from typing import Any

from chaos.tls.certs import make_ca, make_server_cert

PROXIES = [  # name, listen port, upstream (in the cluster's terms)
    ("producer-broker", 16379, "redis:6379"),
    ("consumer-0-broker", 16380, "redis:6379"),
    ("consumer-1-broker", 16381, "redis:6379"),
    ("consumer-2-broker", 16382, "redis:6379"),
    ("consumer-inventory", 18080, "inventory:8080"),
    ("consumer-payment", 18443, "payment:8443"),
    ("consumer-points", 18081, "points:8080"),
]
PORT_NAMES = {"producer-broker": "producer-broker", "consumer-0-broker": "consumer-0",
              "consumer-1-broker": "consumer-1", "consumer-2-broker": "consumer-2",
              "consumer-inventory": "inventory", "consumer-payment": "payment",
              "consumer-points": "points"}
PAYMENT_HOSTS = ["payment", "toxiproxy", "localhost", "127.0.0.1"]
DOWNWARD = [
    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
]
POD_INDEX = {"name": "POD_INDEX", "valueFrom": {"fieldRef": {
    "fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}}}
CONSUMER_SETTINGS = {
    "redis": "consumer-{index}-broker:6379", "inventory": "http://toxiproxy:18080",
    "payment": "https://toxiproxy:18443", "points": "http://toxiproxy:18081",
    "stream": "orders", "group": "workers", "dlq": "orders:dlq", "reclaim_idle": "2s",
    "max_attempts": 5, "concurrency": 16, "call_timeout": "2s", "step_deadline": "4s",
    "backoff_base": "50ms", "backoff_cap": "1s", "shutdown_grace": "5s", "tls_errors": "retry",
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pod_json(component: str, ports: dict[str, int], settings: dict[str, Any],
              bug: str | None, **extra: Any) -> str:
    return json.dumps({"name": component, "component": component, "index": 0,
                       "ports": ports, "settings": settings, "data_dir": "/var/lib/pipechaos",
                       "host": "0.0.0.0", "bug": bug, **extra})


def _container(component: str, module: str, ports: dict[str, int], pod_json: str,
               ready: dict[str, Any], mounts: list[dict[str, Any]], stateful: bool
               ) -> dict[str, Any]:
    return {
        "name": component, "image": "pipechaos-reference",
        "command": ["python", "-m", module],
        "ports": [{"name": n, "containerPort": p} for n, p in ports.items()],
        "env": [{"name": "PIPECHAOS_POD", "value": pod_json}, *DOWNWARD,
                *([POD_INDEX] if stateful else [])],
        "readinessProbe": {**ready, "periodSeconds": 1},
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/pipechaos"}, *mounts],
    }


def _workload(kind: str, name: str, tier: str, replicas: int, container: dict[str, Any],
              volumes: list[dict[str, Any]]) -> dict[str, Any]:
    labels = {"app": name, "tier": tier}
    spec: dict[str, Any] = {
        "replicas": replicas, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {
            "shareProcessNamespace": True, "terminationGracePeriodSeconds": 5,
            "containers": [container],
            "volumes": [{"name": "data", "emptyDir": {}}, *volumes]}}}
    if kind == "StatefulSet":
        spec["serviceName"] = name
        spec["podManagementPolicy"] = "Parallel"
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def _service(name: str, selector: dict[str, str], ports: list[tuple[str, int, int]],
             headless: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": selector, "ports": [
        {"name": n, "port": p, "targetPort": t} for n, p, t in ports]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def _secret(name: str, data: dict[str, bytes]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "type": "kubernetes.io/tls", "data": {k: _b64(v) for k, v in data.items()}}


def toxiproxy_config() -> str:
    return json.dumps([{"name": n, "listen": f"0.0.0.0:{p}", "upstream": u, "enabled": True}
                       for n, p, u in PROXIES], indent=1)


def manifests(bug: str | None = None, proxy_server: str = "pipechaos"
              ) -> list[dict[str, Any]]:
    """Every object of the layout. `proxy_server` pipechaos: `python -m chaos.proxy`."""
    ca_cert, ca_key = make_ca("pipechaos reference CA")
    cert, key = make_server_cert(ca_cert, ca_key, PAYMENT_HOSTS)
    http = {"http": 8080, "admin": 9090}
    admin_ready = {"httpGet": {"path": "/healthz", "port": "admin"}}
    docs: list[dict[str, Any]] = [
        _secret("pipechaos-ca", {"tls.crt": ca_cert, "tls.key": ca_key}),
        _secret("payment-tls", {"tls.crt": cert, "tls.key": key}),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "toxiproxy-config"},
         "data": {"toxiproxy.json": toxiproxy_config()}},
    ]
    ports = {"redis": 6379}
    docs.append(_workload("StatefulSet", "redis", "broker", 1, _container(
        "redis", "targets.reference.broker", ports,
        _pod_json("redis", ports, {"appendfsync": "always"}, bug),
        {"tcpSocket": {"port": "redis"}}, [], True), []))
    docs.append(_service("redis", {"app": "redis"}, [("redis", 6379, 6379)]))
    for name, settings in (("inventory", {"skus": 50, "initial_stock": 1000000}),
                           ("points", {"blocked_customers": ["c-blocked"]})):
        docs.append(_workload("Deployment", name, "service", 1, _container(
            name, f"targets.reference.services.{name}", http,
            _pod_json(name, http, settings, bug), admin_ready, [], False), []))
        docs.append(_service(name, {"app": name}, [("http", 8080, 8080), ("admin", 9090, 9090)]))
    https = {"https": 8443, "admin": 9090}
    tls = {"cert": "/etc/pipechaos/tls/tls.crt", "key": "/etc/pipechaos/tls/tls.key"}
    docs.append(_workload("Deployment", "payment", "service", 1, _container(
        "payment", "targets.reference.services.payment", https,
        _pod_json("payment", https, {"decline_suffix": "0002"}, bug, tls=tls), admin_ready,
        [{"name": "tls", "mountPath": "/etc/pipechaos/tls", "readOnly": True}], False),
        [{"name": "tls", "secret": {"secretName": "payment-tls"}}]))
    docs.append(_service("payment", {"app": "payment"},
                         [("https", 8443, 8443), ("admin", 9090, 9090)]))
    admin = {"admin": 9090}
    docs.append(_workload("StatefulSet", "consumer", "worker", 3, _container(
        "consumer", "targets.reference.consumer", admin,
        _pod_json("consumer", admin, CONSUMER_SETTINGS, bug,
                  ca_file="/etc/pipechaos/ca/ca.pem"), admin_ready,
        [{"name": "ca", "mountPath": "/etc/pipechaos/ca", "readOnly": True}], True),
        [{"name": "ca", "secret": {"secretName": "pipechaos-ca",
                                   "items": [{"key": "tls.crt", "path": "ca.pem"}]}}]))
    docs.append(_service("consumer", {"app": "consumer"}, [("admin", 9090, 9090)], True))
    command = (["python", "-m", "chaos.proxy", "--host", "0.0.0.0", "--port", "8474",
                "--config", "/config/toxiproxy.json"] if proxy_server == "pipechaos" else
               ["toxiproxy-server", "-host", "0.0.0.0", "-config", "/config/toxiproxy.json"])
    proxy_labels = {"app": "toxiproxy", "app.kubernetes.io/component": "proxy"}
    docs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": "toxiproxy"}, "spec": {
                     "replicas": 1, "selector": {"matchLabels": {"app": "toxiproxy"}},
                     "template": {"metadata": {"labels": proxy_labels}, "spec": {
                         "containers": [{
                             "name": "toxiproxy", "image": "toxiproxy", "command": command,
                             "ports": [{"name": "api", "containerPort": 8474},
                                       *({"name": PORT_NAMES[n], "containerPort": p}
                                         for n, p, _ in PROXIES)],
                             "readinessProbe": {"httpGet": {"path": "/version", "port": "api"},
                                                "periodSeconds": 1},
                             "volumeMounts": [{"name": "config", "mountPath": "/config"}]}],
                         "volumes": [{"name": "config",
                                      "configMap": {"name": "toxiproxy-config"}}]}}}})
    docs.append(_service("toxiproxy", {"app": "toxiproxy"},
                         [("api", 8474, 8474), *((PORT_NAMES[n], p, p) for n, p, _ in PROXIES)]))
    for i in range(3):
        docs.append(_service(f"consumer-{i}-broker", {"app": "toxiproxy"},
                             [("redis", 6379, 16380 + i)]))
    return docs

