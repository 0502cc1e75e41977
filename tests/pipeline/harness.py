"""Start the reference pipeline's pods by hand (real redis-server, real HTTPS, real
processes) with a hand-built PIPECHAOS_POD, as the local platform would."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis

from chaos.formats.observations import read_document, to_lists
from chaos.observers.reference import ReferenceObserver
from chaos.tls.certs import make_ca, make_server_cert

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def payload(i: int, **over: Any) -> dict[str, Any]:
    base = {"sku": f"sku-{i % 10}", "qty": 1 + i % 3, "amount": 1000 + 7 * i,
            "customer": f"c-{i % 50}", "card": "4242424242424242"}
    base.update(over)
    return base


@dataclass
class Pod:
    name: str
    component: str
    index: int
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    log: Path

    def url(self, port: str = "admin") -> str:
        return f"http://127.0.0.1:{self.ports[port]}"


@dataclass
class Deployment:
    root: Path
    pods: list[Pod] = field(default_factory=list)
    slot_ports: dict[str, dict[str, int]] = field(default_factory=dict)
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        ca_cert, ca_key = make_ca("test CA")
        self.ca_key = ca_key
        self.ca_cert = ca_cert
        ca_dir = self.root / "ca"
        ca_dir.mkdir(parents=True, exist_ok=True)
        self.ca_file = ca_dir / "ca.pem"
        self.ca_file.write_bytes(ca_cert)

    # ---------------------------------------------------------------- pods

    def ports_of(self, slot: str, names: list[str]) -> dict[str, int]:
        if slot not in self.slot_ports:  # ports belong to the slot and survive restarts
            self.slot_ports[slot] = {n: free_port() for n in names}
        return self.slot_ports[slot]

    def start(self, component: str, index: int, module: str, ports: list[str],
              settings: dict[str, Any], bug: str | None = None, tls: bool = False,
              wait: bool = True) -> Pod:
        slot = f"{component}-{index}"
        name = f"{slot}-{secrets.token_hex(2)}"
        data_dir = self.root / "data" / slot
        pod_ports = self.ports_of(slot, ports)
        spec: dict[str, Any] = {"name": name, "component": component, "index": index,
                                "labels": {"app": component}, "ports": pod_ports,
                                "settings": settings, "data_dir": str(data_dir), "bug": bug,
                                "ca_file": str(self.ca_file)}
        if tls:
            tls_dir = data_dir / "tls"
            tls_dir.mkdir(parents=True, exist_ok=True)
            if not (tls_dir / "cert.pem").exists():
                cert, key = make_server_cert(self.ca_cert, self.ca_key, ["127.0.0.1", "localhost"])
                (tls_dir / "cert.pem").write_bytes(cert)
                (tls_dir / "key.pem").write_bytes(key)
            spec["tls"] = {"cert": str(tls_dir / "cert.pem"), "key": str(tls_dir / "key.pem")}
        log = self.root / f"{name}.log"
        env = dict(os.environ, PIPECHAOS_POD=json.dumps(spec), PYTHONPATH=str(ROOT))
        env.pop("PIPECHAOS_REF_BUG", None)
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", module], env=env, cwd=ROOT,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        pod = Pod(name, component, index, proc, pod_ports, log)
        self.pods.append(pod)
        if wait:
            self.wait_ready(pod)
        return pod

    def wait_ready(self, pod: Pod, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pod.proc.poll() is not None:
                raise AssertionError(f"{pod.name} exited: {pod.log.read_text()[-2000:]}")
            try:
                if pod.component == "redis":
                    redis.Redis(port=pod.ports["redis"], socket_timeout=1).ping()
                    return
                if httpx.get(f"{pod.url()}/healthz", timeout=1).status_code == 200:
                    return
            except (OSError, redis.RedisError, httpx.HTTPError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"{pod.name} not ready: {pod.log.read_text()[-2000:]}")

    def kill(self, pod: Pod, sig: int = signal.SIGKILL) -> int:
        if pod.proc.poll() is None:
            os.kill(pod.proc.pid, sig)
        return pod.proc.wait(timeout=30)

    def stop_all(self) -> None:
        for pod in self.pods:
            if pod.proc.poll() is None:
                with_group_kill(pod.proc)

    # ---------------------------------------------------------------- the pipeline

    def start_broker(self, wait: bool = True) -> Pod:
        return self.start("redis", 0, "targets.reference.broker", ["redis"],
                          {"appendfsync": "always"}, wait=wait)

    @property
    def redis_address(self) -> str:
        return f"127.0.0.1:{self.slot_ports['redis-0']['redis']}"

    def redis(self) -> redis.Redis:
        return redis.Redis(port=self.slot_ports["redis-0"]["redis"], decode_responses=True)

    def start_services(self, inventory: dict[str, Any] | None = None) -> None:
        pods = [
            self.start("inventory", 0, "targets.reference.services.inventory",
                       ["http", "admin"], {"skus": 10, "initial_stock": 100000,
                                           **(inventory or {})}, wait=False),
            self.start("payment", 0, "targets.reference.services.payment", ["https", "admin"],
                       {}, tls=True, wait=False),
            self.start("points", 0, "targets.reference.services.points", ["http", "admin"],
                       {"blocked_customers": ["c-blocked"]}, wait=False),
        ]
        for pod in pods:  # started side by side: a third of the start-up time
            self.wait_ready(pod)

    def service_url(self, service: str) -> str:
        ports = self.slot_ports[f"{service}-0"]
        return (f"https://127.0.0.1:{ports['https']}" if "https" in ports
                else f"http://127.0.0.1:{ports['http']}")

    def consumer_settings(self, **over: Any) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "redis": self.redis_address, "reclaim_idle": "1s", "max_attempts": 3,
            "inventory": self.service_url("inventory"),
            "payment": self.service_url("payment"), "points": self.service_url("points"),
            "call_timeout": "2s", "backoff_cap": "200ms", "shutdown_grace": "5s",
        }
        settings.update(over)
        return settings

    def start_consumer(self, index: int, bug: str | None = None, **over: Any) -> Pod:
        return self.start("consumer", index, "targets.reference.consumer", ["admin"],
                          self.consumer_settings(**over), bug=bug)

    def observer(self) -> ReferenceObserver:
        admin = {s: f"127.0.0.1:{self.slot_ports[f'{s}-0']['admin']}"
                 for s in ("inventory", "payment", "points")}
        return ReferenceObserver({"redis": self.redis_address, "max_attempts": 3, **admin},
                                 None)

    # ---------------------------------------------------------------- load and results

    def publish(self, run_id: str, orders: dict[int, Any]) -> None:
        """XADD one entry per order (a dict payload, or raw text for poison)."""
        r = self.redis()
        pipe = r.pipeline(transaction=False)
        for oid, body in orders.items():
            text = body if isinstance(body, str) else orjson.dumps(body).decode()
            pipe.xadd("orders", {"order_id": str(oid), "run_id": run_id, "payload": text,
                                 "ts": str(time.time_ns())})
        pipe.execute()

    def wait_drained(self, timeout: float = 60.0) -> None:
        obs = self.observer()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if obs.drained():
                return
            time.sleep(0.1)
        raise AssertionError("pipeline did not drain")

    def observe(self, run_id: str) -> dict[str, Any]:
        path = self.root / f"observations-{run_id}.json"
        self.observer().observe(run_id, path)
        doc: dict[str, Any] = to_lists(read_document(path))
        return doc

    def crash(self, pod: Pod, point: str) -> None:
        resp = httpx.post(f"{pod.url()}/crash", json={"point": point}, timeout=5)
        assert resp.status_code == 200, resp.text


def with_group_kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


# ---------------------------------------------------------------- reading observations


def by_order(doc: dict[str, Any]) -> dict[int, dict[str, int]]:
    cols = doc["orders"]
    return {oid: {k: cols[k][i] for k in cols} for i, oid in enumerate(cols["order_id"])}


def effect_counts(doc: dict[str, Any], effect: str) -> dict[int, int]:
    e = doc["effects"].get(effect, {"order_id": [], "count": []})
    return dict(zip(e["order_id"], e["count"], strict=True))
