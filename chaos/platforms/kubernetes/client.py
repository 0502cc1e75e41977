"""The official client, connected once: kubeconfig/context, or the in-cluster account.

`kubernetes.stream` swaps `api_client.call_api` while it opens a websocket, which is not
thread-safe, so every exec and port-forward opens its websocket through an ApiClient of
its own (cheap: no connection is made until used), and many can open at once.
"""

from __future__ import annotations

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

    def __init__(self, cfg: client.Configuration) -> None:
        self.cfg = cfg
        self.api = client.ApiClient(cfg)
        # typed Any: the generated models make every field Optional; the API guarantees them
        self.core: Any = client.CoreV1Api(self.api)
        self.apps: Any = client.AppsV1Api(self.api)

    def _ws_core(self) -> Any:
        return client.CoreV1Api(client.ApiClient(self.cfg))

    def exec_stream(self, namespace: str, pod: str, container: str | None,
                    command: list[str]) -> Any:
        """An open exec websocket (stdout/stderr, no stdin, no tty)."""
        kwargs: dict[str, Any] = {"command": command, "stderr": True, "stdin": False,
                                  "stdout": True, "tty": False, "_preload_content": False}
        if container:
            kwargs["container"] = container
        return stream(self._ws_core().connect_get_namespaced_pod_exec, pod, namespace, **kwargs)

    def port_forward(self, namespace: str, pod: str, port: int) -> Any:
        """An open port-forward websocket to one port of a pod (`.socket(port)`)."""
        return portforward(self._ws_core().connect_get_namespaced_pod_portforward, pod,
                           namespace, ports=str(port))

    def close(self) -> None:
        api: Any = self.api
        try:
            api.close()
        except Exception:  # pragma: no cover - best effort at teardown
            return


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
    cfg.connection_pool_maxsize = 32  # port-forward lookups run in many threads at once
    return cfg


def connect(settings: Settings) -> Cluster:
    return Cluster(_configuration(settings))


def reason(exc: ApiException) -> str:
    """One line from an API error: the Status message when there is one."""
    import json

    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message") or exc.reason
    except (ValueError, AttributeError):
        message = exc.reason
    return f"HTTP {exc.status}: {message}"
