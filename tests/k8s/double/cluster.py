"""The cluster double as one object: API server thread, controllers, kubelet, network."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from chaos.platforms.supervisor import Spawner
from chaos.tls.certs import make_ca, make_server_cert
from tests.k8s.double.api import Api
from tests.k8s.double.controllers import Controllers, is_ready
from tests.k8s.double.dns import Dns
from tests.k8s.double.kubelet import Kubelet
from tests.k8s.double.kubeproxy import KubeProxy
from tests.k8s.double.network import Network
from tests.k8s.double.record import WRITE_VERBS, Recorder, Request
from tests.k8s.double.selectors import selector_dict
from tests.k8s.double.servicenat import ServiceNat
from tests.k8s.double.store import KINDS, RESOURCES, ApiError, Obj, Store
from tests.k8s.double.streams import PodStreams

REPO = Path(__file__).resolve().parents[3]
Docs = Obj | Iterable[Obj] | str | Path


def load_docs(docs: Docs) -> list[Obj]:
    """Dicts, a YAML text (multi-document) or a YAML file -> a list of objects."""
    if isinstance(docs, Path):
        docs = docs.read_text()
    if isinstance(docs, str):
        return [d for d in yaml.safe_load_all(docs) if d]
    if isinstance(docs, dict):
        return [docs]
    return [d for d in docs if d]


class Cluster:
    def __init__(self, workdir: Path, root: Path | None = None) -> None:
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.root = (root or REPO).resolve()
        self.store = Store()
        self.recorder = Recorder()
        self.rooted = os.geteuid() == 0
        self.network = Network() if self.rooted else None
        self.dns = Dns(self.store, self.workdir / "dns") if self.rooted else None
        self._service_ips: dict[str, str] = {}  # "ns/name" -> ClusterIP
        self._fake_ip = 0
        self.store.admit = self._admit
        self.spawner = Spawner()
        self.kubelet = Kubelet(self.store, self.network, self.dns, self.spawner, self.workdir,
                               self.root)
        self.ca_pem = b""
        self.proxy = KubeProxy(self.store)
        self.nat = ServiceNat(self.store)
        if self.network is not None:
            self.network.on_attach = self.nat.attach
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.api = Api(self.store, self.recorder, PodStreams(self.kubelet))
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True,
                                        name="k8s-double-api")
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the double's API server did not start")
        self.url = f"http://127.0.0.1:{self.port}"
        self.kubeconfig = self.workdir / "kubeconfig"
        self._write_kubeconfig()
        self.create_namespace("default")
        self.controllers = Controllers(self.store, self.kubelet.delete_pod, self._after)

    @classmethod
    def start(cls, workdir: Path, root: Path | None = None) -> Cluster:
        return cls(workdir, root)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None
                 ) -> None:
        self.stop()

    # ------------------------------------------------------------------ server
    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)

        async def boot() -> None:
            self._runner = web.AppRunner(self.api.app, handle_signals=False)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = self._runner.addresses[0][1]
            if self.network is not None:  # in-cluster clients: HTTPS on the pod network
                secure = web.TCPSite(self._runner, self.network.gateway, 0,
                                     ssl_context=self._tls_context())
                await secure.start()
                port = self._runner.addresses[-1][1]
                self.kubelet.in_cluster = (self.network.gateway, port, self.ca_pem)
            started.set()

        self._loop.run_until_complete(boot())
        self._loop.run_forever()

    def _tls_context(self) -> ssl.SSLContext:
        assert self.network is not None
        ca, ca_key = make_ca("k8s double API CA")
        cert, key = make_server_cert(ca, ca_key, [
            self.network.gateway, "127.0.0.1", "kubernetes", "kubernetes.default",
            "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"])
        tls_dir = self.workdir / "apiserver"
        tls_dir.mkdir(exist_ok=True)
        (tls_dir / "tls.crt").write_bytes(cert)
        (tls_dir / "tls.key").write_bytes(key)
        self.ca_pem = ca
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(tls_dir / "tls.crt", tls_dir / "tls.key")
        return ctx

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "double",
            "clusters": [{"name": "double", "cluster": {"server": self.url}}],
            "users": [{"name": "double", "user": {"token": "double"}}],
            "contexts": [{"name": "double", "context": {"cluster": "double", "user": "double",
                                                        "namespace": "default"}}]}
        self.kubeconfig.write_text(yaml.safe_dump(config))

    def _admit(self, resource: str, obj: Obj) -> None:
        """What the API server defaults on create: ClusterIPs, pod spec defaults."""
        if resource == "services":
            spec = obj.setdefault("spec", {})
            if spec.get("clusterIP") in (None, ""):
                key = f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
                if self.network is not None:
                    spec["clusterIP"] = self.network.service_ip()
                else:
                    self._fake_ip += 1
                    spec["clusterIP"] = f"10.96.0.{self._fake_ip}"
                self._service_ips[key] = spec["clusterIP"]
            spec.setdefault("type", "ClusterIP")
        if resource == "pods":
            spec = obj.setdefault("spec", {})
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("terminationGracePeriodSeconds", 30)
            spec.setdefault("serviceAccountName", "default")

    def _after(self) -> None:
        """After each reconcile: DNS files, freed ClusterIPs, kube-proxy listeners."""
        if self.dns is not None:
            self.dns.refresh()
        live = {f"{s['metadata']['namespace']}/{s['metadata']['name']}"
                for s in self.store.list("services")}
        for key in set(self._service_ips) - live:
            addr = self._service_ips.pop(key)
            if self.network is not None:
                self.network.release_service_ip(addr)
        if self.rooted:
            self.nat.sync()
            asyncio.run_coroutine_threadsafe(self.proxy.sync(), self._loop)

    def stop(self) -> None:
        if getattr(self, "_stopped", False):
            return
        self._stopped = True
        self.controllers.stop()
        self.kubelet.shutdown()

        async def down() -> None:
            await self.proxy.close()
            if self._runner is not None:
                await self._runner.cleanup()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if self.network is not None:
            self.network.close()
        self.spawner.close()

    # ------------------------------------------------------------------ loading
    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> Obj:
        body = {"metadata": {"name": name,
                             "labels": {"kubernetes.io/metadata.name": name, **(labels or {})}},
                "status": {"phase": "Active"}}
        try:
            return self.store.create("namespaces", "", body)
        except ApiError:
            return self.store.mutate("namespaces", "", name, lambda o: o["metadata"][
                "labels"].update(body["metadata"]["labels"])) or body

    def apply(self, docs: Docs, namespace: str = "default") -> list[Obj]:
        """Create or replace objects directly in the store (not recorded as requests)."""
        out = []
        for doc in load_docs(docs):
            kind = doc.get("kind")
            if kind not in KINDS:
                raise ValueError(f"the double does not serve kind {kind!r}")
            resource = KINDS[kind]
            ns = "" if not RESOURCES[resource][2] else (
                doc.get("metadata", {}).get("namespace") or namespace)
            if ns and self.store.get("namespaces", "", ns) is None:
                self.create_namespace(ns)
            name = doc["metadata"]["name"]
            cur = self.store.get(resource, ns, name)
            if cur is None:
                out.append(self.store.create(resource, ns, doc))
            else:
                new = {**cur, **{k: v for k, v in doc.items() if k != "metadata"}}
                new["metadata"] = {**cur["metadata"], **doc["metadata"]}
                out.append(self.store.update(resource, ns, name, new))
        return out

    def wait_ready(self, namespace: str, timeout: float = 60.0) -> None:
        """Every Deployment and StatefulSet of the namespace fully rolled out and Ready."""
        deadline = time.monotonic() + timeout
        while True:
            missing = self.not_ready(namespace)
            if not missing:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:g}s: {'; '.join(missing)}")
            time.sleep(0.1)

    def not_ready(self, namespace: str) -> list[str]:
        missing = []
        for resource in ("deployments", "statefulsets"):
            for w in self.store.list(resource, namespace):
                want = int(w["spec"].get("replicas", 1))
                pods = self.list("Pod", namespace, None, w["spec"].get("selector"))
                ready = [p for p in pods if is_ready(p)]
                st = w.get("status") or {}
                if (len(ready) != want or len(pods) != want or st.get("readyReplicas", 0) != want
                        or st.get("observedGeneration") != w["metadata"]["generation"]):
                    missing.append(f"{resource[:-1]} {w['metadata']['name']}: "
                                   f"{len(ready)}/{want} ready of {len(pods)} pods")
        return missing

    # ------------------------------------------------------------------ assertions
    @property
    def requests(self) -> list[Request]:
        return self.recorder.all()

    def mark(self) -> int:
        return self.recorder.mark()

    def calls(self, since: int = 0, verbs: Iterable[str] | None = None) -> list[Request]:
        chosen = set(verbs) if verbs is not None else None
        return [r for r in self.recorder.since(since) if chosen is None or r.verb in chosen]

    def writes(self, since: int = 0) -> list[Request]:
        return self.calls(since, WRITE_VERBS)

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self.store.get(KINDS.get(kind, kind), namespace, name)

    def list(self, kind: str, namespace: str | None = None,
             selector: dict[str, str] | None = None,
             label_selector: dict[str, Any] | None = None) -> list[Obj]:
        """Objects whose labels include `selector` (or match a LabelSelector object)."""
        match = selector_dict(label_selector or {"matchLabels": selector or {}})
        return self.store.list(KINDS.get(kind, kind), namespace,
                               lambda o: match(o["metadata"].get("labels") or {}))

    def pod_process(self, namespace: str, name: str) -> int | None:
        worker = self.kubelet.worker(namespace, name)
        if worker is None or worker.container is None or not worker.container.running():
            return None
        return worker.container.pid1

    def log_dir(self, namespace: str, name: str) -> Path | None:
        worker = self.kubelet.worker(namespace, name)
        return worker.dir if worker is not None else None

    def describe(self) -> dict[str, Any]:
        """Diagnostics for failing tests: every pod's phase, readiness and IP."""
        return {f"{p['metadata']['namespace']}/{p['metadata']['name']}": {
            "phase": (p.get("status") or {}).get("phase"), "ready": is_ready(p),
            "ip": (p.get("status") or {}).get("podIP"),
            "deleting": bool(p["metadata"].get("deletionTimestamp"))}
            for p in self.store.list("pods")}
