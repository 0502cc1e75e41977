"""The kubelet: runs each Pod as a Container, probes readiness, projects volumes, deletes
with a grace period, and keeps the Pod's status current."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from chaos.platforms.supervisor import Spawner
from tests.k8s.double import podspec, probes
from tests.k8s.double.dns import Dns
from tests.k8s.double.network import Network
from tests.k8s.double.runtime import Container, rfc3339
from tests.k8s.double.store import Event, Obj, Store, now_iso
from tests.k8s.double.volumes import project

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class _Stale(Exception):
    """The pod object now belongs to a newer incarnation (same name, new UID)."""


class PodWorker:
    def __init__(self, kubelet: Kubelet, pod: Obj) -> None:
        self.k = kubelet
        meta = pod["metadata"]
        self.ns, self.name, self.uid = meta["namespace"], meta["name"], meta["uid"]
        self.pod = pod
        self.dir = kubelet.workdir / "pods" / f"{self.ns}_{self.name}_{self.uid[:8]}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.deleting = threading.Event()
        self.done = threading.Event()
        self.container: Container | None = None
        self.env: dict[str, str] = {}
        self.restarts = 0
        self.ip = ""
        self._sticky = self._sticky_key(pod)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"pod-{self.name}")

    @staticmethod
    def _sticky_key(pod: Obj) -> str | None:
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "StatefulSet":
                return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        return None

    def start(self) -> None:
        self._thread.start()

    # ------------------------------------------------------------------ status
    def _status(self, change: Any) -> None:
        def guarded(cur: Obj) -> None:
            if cur["metadata"]["uid"] != self.uid:
                raise _Stale
            change(cur.setdefault("status", {}))

        with contextlib.suppress(_Stale):
            self.k.store.mutate("pods", self.ns, self.name, guarded)

    def _set_ready(self, ready: bool) -> None:
        def change(st: dict[str, Any]) -> None:
            conds = {c["type"]: c for c in st.get("conditions") or []}
            for kind in ("Ready", "ContainersReady"):
                old = conds.get(kind, {})
                if old.get("status") != str(ready):
                    conds[kind] = {"type": kind, "status": str(ready),
                                   "lastTransitionTime": now_iso()}
            st["conditions"] = list(conds.values())
            for cs in st.get("containerStatuses") or []:
                cs["ready"] = ready

        self._status(change)

    def _container_status(self, state: dict[str, Any], last: dict[str, Any] | None = None
                          ) -> None:
        c = podspec.container(self.pod)

        def change(st: dict[str, Any]) -> None:
            old = (st.get("containerStatuses") or [{}])[0]
            st["containerStatuses"] = [{
                "name": c["name"], "image": c.get("image", ""), "imageID": "",
                "containerID": f"double://{self.uid[:8]}-{self.restarts}",
                "ready": False, "started": "running" in state, "restartCount": self.restarts,
                "state": state, "lastState": last if last is not None else
                old.get("lastState", {})}]
            if "running" in state:
                st["phase"] = "Running"

        self._status(change)

    # ------------------------------------------------------------------ lifecycle
    def _run(self) -> None:
        try:
            self._lifecycle()
        except Exception as exc:  # never leave a pod half-managed silently
            with open(self.dir / "kubelet-error.txt", "a") as out:
                out.write(f"{rfc3339()} {exc!r}\n")
        finally:
            self._finish()

    def _lifecycle(self) -> None:
        net = self.k.network
        self.ip = net.pod_ip(self._sticky) if net is not None else "127.0.0.1"
        ip = self.ip

        def scheduled(st: dict[str, Any]) -> None:
            st.update(phase="Pending", podIP=ip, podIPs=[{"ip": ip}], hostIP="127.0.0.1",
                      startTime=now_iso(), qosClass="BestEffort",
                      conditions=[{"type": "PodScheduled", "status": "True"},
                                  {"type": "Initialized", "status": "True"},
                                  {"type": "Ready", "status": "False"},
                                  {"type": "ContainersReady", "status": "False"}])

        self._status(scheduled)
        self.pod = self.k.store.get("pods", self.ns, self.name) or self.pod
        if self.k.dns is not None:
            self.k.dns.refresh()
        backoff = 0.2
        while not self.deleting.is_set():
            try:
                container = self._start_container()
            except podspec.NotReadyYet as exc:
                self._container_status({"waiting": {"reason": "CreateContainerConfigError",
                                                    "message": str(exc)}})
                self.deleting.wait(0.5)
                continue
            self._container_status({"running": {"startedAt": now_iso()}})
            self._watch(container)
            code = container.exit_code if container.exit_code is not None else 137
            term = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else
                                   "Error", "finishedAt": now_iso()}}
            if self.deleting.is_set():
                break
            policy = self.pod["spec"].get("restartPolicy", "Always")
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                self._container_status(term)
                self._status(lambda st, c=code: st.update(
                    phase="Succeeded" if c == 0 else "Failed"))
                self.deleting.wait()
                break
            ran = (time.time_ns() - container.started_ns) / 1e9
            backoff = 0.2 if ran > 10 else backoff
            self._container_status({"waiting": {"reason": "CrashLoopBackOff"}}, term)
            if self.deleting.wait(backoff):
                break
            backoff = min(backoff * 2, 5.0)
            self.restarts += 1

    def _start_container(self) -> Container:
        env = podspec.environment(self.k.store, self.pod, self.k.base_env(self.pod))
        self.env = env
        vol_dir = self.dir / "volumes"
        for volume in self.pod["spec"].get("volumes") or []:
            files = podspec.volume_files(self.k.store, self.pod, volume)
            target = vol_dir / volume["name"]
            if "persistentVolumeClaim" in volume:
                claim = self.k.workdir / "pvc" / self.ns / volume[
                    "persistentVolumeClaim"]["claimName"]
                claim.mkdir(parents=True, exist_ok=True)
                if not target.is_symlink():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.symlink_to(claim)
            elif files is None:
                target.mkdir(parents=True, exist_ok=True)
            else:
                project(target, files)
        mounts = podspec.mounts(self.pod, vol_dir)
        account = self.k.service_account_files(self.pod)
        if account is not None:
            project(vol_dir / ".serviceaccount", account)
            mounts.append((vol_dir / ".serviceaccount", SA_DIR, True))
        etc = {} if self.k.dns is None else {"hosts": self.k.dns.hosts_file(self.ns),
                                             "resolv.conf": self.k.dns.resolv_conf()}
        container = Container(
            self.k.spawner, podspec.argv(self.pod), env, self.k.root,
            self.dir / f"container-{self.restarts}.log", mounts,
            etc, bool(self.pod["spec"].get("shareProcessNamespace")), self.k.keep)
        self.container = container
        if self.k.network is not None:
            try:
                self.k.network.attach(container.netns_pid, self.ip)
            except OSError:
                container.kill()
                raise
        container.go()
        return container

    def _watch(self, container: Container) -> None:
        readiness = probes.Readiness(podspec.container(self.pod).get("readinessProbe"))
        while not container.exited.wait(probes.EVERY_S):
            if self.deleting.is_set():
                continue
            ran = (time.time_ns() - container.started_ns) / 1e9
            changed = readiness.observe(ran, lambda spec: probes.probe(
                self.pod, self.ip, spec, self.k.nsenter(container.pid1)))
            if changed:
                self._set_ready(readiness.ready)
        if readiness.ready:
            self._set_ready(False)

    def terminate(self, grace: int) -> None:
        """TERM now (unless grace is 0), KILL after `grace` seconds."""
        first = not self.deleting.is_set()
        self.deleting.set()
        container = self.container
        if container is None or not container.running():
            return
        if grace <= 0:
            container.kill()
            return
        if first:  # Ready stays as it was (as on a real node): clients must look at
            container.signal(signal.SIGTERM)  # deletionTimestamp, as endpoints do
        timer = threading.Timer(grace, container.kill)
        timer.daemon = True
        timer.start()

    def _finish(self) -> None:
        if self.container is not None and self.container.running():
            self.container.kill()
            self.container.exited.wait(10)
        if self.k.network is not None and self.ip:
            self.k.network.release_pod_ip(self.ip, self._sticky)
        cur = self.k.store.get("pods", self.ns, self.name)
        if cur is not None and cur["metadata"]["uid"] == self.uid:
            with contextlib.suppress(Exception):
                self.k.store.delete("pods", self.ns, self.name)
        self.k.forget(self)
        if self.k.dns is not None:
            self.k.dns.refresh()
        self.done.set()

    def log_file(self, previous: bool) -> Path | None:
        n = self.restarts - 1 if previous else self.restarts
        path = self.dir / f"container-{n}.log"
        return path if n >= 0 and path.exists() else None

    def reproject(self) -> None:
        """Secret/ConfigMap changed: rewrite volume files in place (atomic swap)."""
        for volume in self.pod["spec"].get("volumes") or []:
            with contextlib.suppress(podspec.NotReadyYet):
                files = podspec.volume_files(self.k.store, self.pod, volume)
                if files is not None:
                    project(self.dir / "volumes" / volume["name"], files)


def host_paths(root: Path) -> list[Path]:
    """What every pod runs from: its cwd (root), what root links to, and this interpreter's
    environment. A chart's volume over /tmp must not hide them when the checkout is there."""
    paths = {root.resolve(), Path(sys.prefix).resolve()}
    paths |= {link.resolve() for link in root.iterdir() if link.is_symlink()}
    return sorted(p for p in paths if not any(q in p.parents for q in paths))


class Kubelet:
    def __init__(self, store: Store, network: Network | None, dns: Dns | None,
                 spawner: Spawner, workdir: Path, root: Path) -> None:
        self.store, self.network, self.dns, self.spawner = store, network, dns, spawner
        self.workdir, self.root = workdir, root
        self.keep = host_paths(root)
        self.enabled = network is not None  # pods need root (namespaces, veth)
        self.in_cluster: tuple[str, int, bytes] | None = None  # API host, HTTPS port, CA
        self._lock = threading.Lock()
        self._workers: dict[str, PodWorker] = {}
        self._events: queue.Queue[Event | None] = queue.Queue()
        self._unsubscribe = store.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="kubelet")
        self._thread.start()

    def base_env(self, pod: Obj) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(PYTHONPATH=str(self.root), PYTHONUNBUFFERED="1",
                   HOSTNAME=pod["metadata"]["name"])
        if self.in_cluster is not None:
            host, port, _ = self.in_cluster
            env.update(KUBERNETES_SERVICE_HOST=host, KUBERNETES_SERVICE_PORT=str(port),
                       KUBERNETES_SERVICE_PORT_HTTPS=str(port))
        return env

    def service_account_files(self, pod: Obj) -> dict[str, bytes] | None:
        """The projected service account volume (token, ca.crt, namespace), as in a pod."""
        if self.in_cluster is None or pod["spec"].get("automountServiceAccountToken") is False:
            return None
        ns = pod["metadata"]["namespace"]
        account = pod["spec"].get("serviceAccountName") or "default"
        return {"token": f"double:{ns}:{account}".encode(), "ca.crt": self.in_cluster[2],
                "namespace": ns.encode()}

    def nsenter(self, pid1: int) -> list[str]:
        return ["nsenter", "-t", str(pid1), "--pid", "--mount", "--net", "--"]

    def _on_event(self, event: Event) -> None:
        if event.resource in ("pods", "secrets", "configmaps"):
            self._events.put(event)

    def _loop(self) -> None:
        while (event := self._events.get()) is not None:
            if event.resource == "pods" and event.type == "ADDED" and self.enabled:
                meta = event.obj["metadata"]
                with self._lock:
                    known = meta["uid"] in self._workers
                if not known and not meta.get("deletionTimestamp"):
                    pod = self.store.get("pods", meta["namespace"], meta["name"])
                    if pod is not None and pod["metadata"]["uid"] == meta["uid"]:
                        worker = PodWorker(self, pod)
                        with self._lock:
                            self._workers[meta["uid"]] = worker
                        worker.start()
            elif event.resource in ("secrets", "configmaps") and event.type != "DELETED":
                with self._lock:
                    workers = list(self._workers.values())
                for w in workers:
                    if w.ns == event.obj["metadata"]["namespace"]:
                        w.reproject()

    def forget(self, worker: PodWorker) -> None:
        with self._lock:
            self._workers.pop(worker.uid, None)

    def worker(self, ns: str, name: str) -> PodWorker | None:
        with self._lock:
            for w in self._workers.values():
                if w.ns == ns and w.name == name and not w.done.is_set():
                    return w
        return None

    def delete_pod(self, ns: str, name: str, grace: int | None) -> Obj:
        """The API's pod DELETE: graceful unless grace is 0 (then gone on return)."""
        pod = self.store.get("pods", ns, name)
        if pod is None:
            from tests.k8s.double.store import ApiError
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        worker = self.worker(ns, name)
        if worker is None or grace <= 0:
            if worker is not None:
                worker.terminate(0)
                worker.done.wait(10)
            with contextlib.suppress(Exception):
                return self.store.delete("pods", ns, name)
            return pod

        def mark(cur: Obj) -> None:
            meta = cur["metadata"]
            if not meta.get("deletionTimestamp") or grace < meta.get(
                    "deletionGracePeriodSeconds", grace + 1):
                meta["deletionTimestamp"] = now_iso()
                meta["deletionGracePeriodSeconds"] = grace

        marked = self.store.mutate("pods", ns, name, mark) or pod
        worker.terminate(grace)
        return marked

    def shutdown(self) -> None:
        self._unsubscribe()
        self._events.put(None)
        with self._lock:
            workers = list(self._workers.values())
        for w in workers:
            w.terminate(0)
        for w in workers:
            w.done.wait(10)
