"""The official client, connected once: kubeconfig/context, or the in-cluster account.

`kubernetes.stream` swaps `api_client.call_api` while it opens a websocket, which is not
thread-safe, so exec and port-forward use their own ApiClient under a lock (held only
while the websocket opens).
"""

from __future__ import annotations

import threading
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.stream import portforward, stream

from chaos.platforms.base import PlatformError
from chaos.platforms.kubernetes.settings import Settings, in_cluster

__all__ = ["ApiException", "Cluster", "connect", "reason"]


class Cluster:
    """CoreV1 and AppsV1 on one connection, plus a websocket connection for streams."""

    def __init__(self, api: client.ApiClient, ws: client.ApiClient) -> None:
        self.api = api
        # typed Any: the generated models make every field Optional; the API guarantees them
        self.core: Any = client.CoreV1Api(api)
        self.apps: Any = client.AppsV1Api(api)
        self._ws_core = client.CoreV1Api(ws)
        self._ws_lock = threading.Lock()

    def exec_stream(self, namespace: str, pod: str, container: str | None,
                    command: list[str]) -> Any:
        """An open exec websocket (stdout/stderr, no stdin, no tty)."""
        kwargs: dict[str, Any] = {"command": command, "stderr": True, "stdin": False,
                                  "stdout": True, "tty": False, "_preload_content": False}
        if container:
            kwargs["container"] = container
        with self._ws_lock:
            return stream(self._ws_core.connect_get_namespaced_pod_exec, pod, namespace,
                          **kwargs)

    def port_forward(self, namespace: str, pod: str, port: int) -> Any:
        """An open port-forward websocket to one port of a pod (`.socket(port)`)."""
        with self._ws_lock:
            return portforward(self._ws_core.connect_get_namespaced_pod_portforward, pod,
                               namespace, ports=str(port))

    def close(self) -> None:
        for api in (self.api, self._ws_core.api_client):
            try:
                api.close()
            except Exception:  # pragma: no cover - best effort at teardown
                continue


def _configuration(settings: Settings) -> client.Configuration:
    cfg = client.Configuration()
    try:
        if settings.kubeconfig is None and settings.context is None and in_cluster():
            incluster: Any = config.load_incluster_config
            incluster(client_configuration=cfg)
        else:
            load: Any = config.load_kube_config
            load(config_file=settings.kubeconfig, context=settings.context,
                 client_configuration=cfg)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        where = settings.kubeconfig or "the default kubeconfig"
        raise PlatformError(f"kubernetes: cannot load {where}"
                            f"{f' context {settings.context}' if settings.context else ''}: "
                            f"{exc}") from None
    return cfg


def connect(settings: Settings) -> Cluster:
    cfg = _configuration(settings)
    return Cluster(client.ApiClient(cfg), client.ApiClient(cfg))


def reason(exc: ApiException) -> str:
    """One line from an API error: the Status message when there is one."""
    import json

    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message") or exc.reason
    except (ValueError, AttributeError):
        message = exc.reason
    return f"HTTP {exc.status}: {message}"
