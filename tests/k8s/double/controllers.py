"""Deployment, ReplicaSet, StatefulSet, Endpoints and garbage collection, level-triggered.

One thread reconciles everything after any change (the double's clusters are small).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any

from tests.k8s.double.podspec import port_number
from tests.k8s.double.selectors import selector_dict
from tests.k8s.double.store import ApiError, Event, Obj, Store

DeletePod = Callable[[str, str, int | None], Obj]


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def is_ready(pod: Obj) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def owned_by(obj: Obj, uid: str) -> bool:
    return any(r.get("uid") == uid and r.get("controller")
               for r in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: Obj) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


class Controllers:
    def __init__(self, store: Store, delete_pod: DeletePod,
                 after: Callable[[], None] | None = None) -> None:
        self.store, self.delete_pod, self.after = store, delete_pod, after
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._unsubscribe = store.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="controllers")
        self._thread.start()

    def _on_event(self, event: Event) -> None:
        if event.resource not in ("secrets", "configmaps", "events"):
            self._wake.set()

    def stop(self) -> None:
        self._unsubscribe()
        self._stop.set()
        self._wake.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._stop.wait(0.01)  # coalesce bursts of events
            with contextlib.suppress(ApiError):
                self.reconcile()

    def reconcile(self) -> None:
        for d in self.store.list("deployments"):
            self._deployment(d)
        for rs in self.store.list("replicasets"):
            self._replicaset(rs)
        for sts in self.store.list("statefulsets"):
            self._statefulset(sts)
        for svc in self.store.list("services"):
            self._endpoints(svc)
        self._collect_garbage()
        if self.after is not None:
            self.after()

    # ------------------------------------------------------------------ helpers
    def _set_status(self, resource: str, obj: Obj, status: dict[str, Any]) -> None:
        if obj.get("status") != status:
            def change(cur: Obj) -> None:
                cur["status"] = status
            self.store.mutate(resource, obj["metadata"]["namespace"], obj["metadata"]["name"],
                              change)

    def _new_pod(self, owner: Obj, template: dict[str, Any], name: str,
                 extra_labels: dict[str, str], spec_extra: dict[str, Any]) -> None:
        t = copy.deepcopy(template)
        meta = t.get("metadata") or {}
        pod = {"metadata": {"name": name, "labels": {**(meta.get("labels") or {}),
                                                      **extra_labels},
                            "annotations": dict(meta.get("annotations") or {}),
                            "ownerReferences": [owner_ref(owner)]},
               "spec": {**t.get("spec", {}), "nodeName": "double", **spec_extra},
               "status": {"phase": "Pending"}}
        with contextlib.suppress(ApiError):
            self.store.create("pods", owner["metadata"]["namespace"], pod)

    def _pods_of(self, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        return self.store.list("pods", owner["metadata"]["namespace"],
                               lambda p: owned_by(p, uid))

    # ------------------------------------------------------------------ workloads
    def _deployment(self, d: Obj) -> None:
        ns, name, uid = d["metadata"]["namespace"], d["metadata"]["name"], d["metadata"]["uid"]
        spec = d["spec"]
        replicas = int(spec.get("replicas", 1))
        h = template_hash(spec["template"])
        sets = self.store.list("replicasets", ns, lambda r: owned_by(r, uid))
        current = next((r for r in sets if r["metadata"]["name"] == f"{name}-{h}"), None)
        if current is None:
            tmpl = copy.deepcopy(spec["template"])
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            sel = copy.deepcopy(spec.get("selector") or {})
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            with contextlib.suppress(ApiError):
                current = self.store.create("replicasets", ns, {
                    "metadata": {"name": f"{name}-{h}", "labels": tmpl["metadata"]["labels"],
                                 "ownerReferences": [owner_ref(d)]},
                    "spec": {"replicas": replicas, "selector": sel, "template": tmpl}})
            return
        if current["spec"].get("replicas") != replicas:
            self.store.mutate("replicasets", ns, current["metadata"]["name"],
                              lambda r: r["spec"].__setitem__("replicas", replicas))
        new_ready = (current.get("status") or {}).get("readyReplicas", 0)
        for old in sets:
            if old is not current and old["spec"].get("replicas") and new_ready >= replicas:
                self.store.mutate("replicasets", ns, old["metadata"]["name"],
                                  lambda r: r["spec"].__setitem__("replicas", 0))
        pods = [p for r in sets for p in self._pods_of(r)
                if not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in pods if is_ready(p))
        updated = sum(1 for p in self._pods_of(current)
                      if not p["metadata"].get("deletionTimestamp"))
        self._set_status("deployments", d, {
            "observedGeneration": d["metadata"]["generation"], "replicas": len(pods),
            "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
            "unavailableReplicas": max(replicas - ready, 0),
            "conditions": [{"type": "Available",
                            "status": str(ready >= replicas), "reason": "MinimumReplicas"},
                           {"type": "Progressing", "status": "True",
                            "reason": "NewReplicaSetAvailable" if updated == replicas and
                            len(pods) == replicas else "ReplicaSetUpdated"}]})

    def _replicaset(self, rs: Obj) -> None:
        ns, name = rs["metadata"]["namespace"], rs["metadata"]["name"]
        replicas = int(rs["spec"].get("replicas", 1))
        pods = self._pods_of(rs)
        alive = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        for _ in range(replicas - len(alive)):
            self._new_pod(rs, rs["spec"]["template"], f"{name}-{secrets.token_hex(3)[:5]}",
                          {}, {})
        if len(alive) > replicas:
            doomed = sorted(alive, key=lambda p: (is_ready(p), p["metadata"]["creationTimestamp"]
                                                  ), reverse=False)[:len(alive) - replicas]
            for p in doomed:
                with contextlib.suppress(ApiError):
                    self.delete_pod(ns, p["metadata"]["name"], None)
        ready = sum(1 for p in alive if is_ready(p))
        self._set_status("replicasets", rs, {
            "replicas": len(alive), "readyReplicas": ready, "availableReplicas": ready,
            "fullyLabeledReplicas": len(alive),
            "observedGeneration": rs["metadata"]["generation"]})

    def _statefulset(self, sts: Obj) -> None:
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        spec = sts["spec"]
        replicas = int(spec.get("replicas", 1))
        rev = f"{name}-{template_hash(spec['template'])}"
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        pods = {p["metadata"]["name"]: p for p in self._pods_of(sts)}
        for i in range(replicas):
            pod = pods.get(f"{name}-{i}")
            if pod is None:
                if self.store.get("pods", ns, f"{name}-{i}") is not None:
                    break  # an unowned pod holds the name: wait, as the real controller does
                labels = {"controller-revision-hash": rev,
                          "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
                          "apps.kubernetes.io/pod-index": str(i)}
                extra: dict[str, Any] = {"hostname": f"{name}-{i}"}
                if spec.get("serviceName"):
                    extra["subdomain"] = spec["serviceName"]
                claims = self._claims(sts, i)
                if claims:
                    kept = [v for v in spec["template"].get("spec", {}).get("volumes") or []
                            if v["name"] not in {c["name"] for c in claims}]
                    extra["volumes"] = kept + claims
                self._new_pod(sts, spec["template"], f"{name}-{i}", labels, extra)
                if ordered:
                    break
            elif ordered and not is_ready(pod):
                break
        for extra_name in sorted(pods, key=lambda n: -int(n.rsplit("-", 1)[1])):
            if int(extra_name.rsplit("-", 1)[1]) >= replicas and not pods[extra_name][
                    "metadata"].get("deletionTimestamp"):
                with contextlib.suppress(ApiError):
                    self.delete_pod(ns, extra_name, None)
                break
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        if len(live) == replicas == len(pods) and all(is_ready(p) for p in live):
            stale = [p for p in live if p["metadata"]["labels"].get(
                "controller-revision-hash") != rev]
            if stale:
                victim = max(stale, key=lambda p: int(p["metadata"]["name"].rsplit("-", 1)[1]))
                with contextlib.suppress(ApiError):
                    self.delete_pod(ns, victim["metadata"]["name"], None)
        ready = sum(1 for p in live if is_ready(p))
        updated = sum(1 for p in live if p["metadata"]["labels"].get(
            "controller-revision-hash") == rev)
        self._set_status("statefulsets", sts, {
            "observedGeneration": sts["metadata"]["generation"], "replicas": len(live),
            "readyReplicas": ready, "availableReplicas": ready, "currentReplicas": updated,
            "updatedReplicas": updated, "currentRevision": rev, "updateRevision": rev})

    def _claims(self, sts: Obj, i: int) -> list[dict[str, Any]]:
        """volumeClaimTemplates: one claim per ordinal, kept when the pod goes (as PVCs)."""
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        volumes = []
        for tmpl in sts["spec"].get("volumeClaimTemplates") or []:
            claim = f"{tmpl['metadata']['name']}-{name}-{i}"
            if self.store.get("persistentvolumeclaims", ns, claim) is None:
                with contextlib.suppress(ApiError):
                    self.store.create("persistentvolumeclaims", ns, {
                        "metadata": {"name": claim, "labels": dict(
                            sts["spec"]["selector"].get("matchLabels") or {})},
                        "spec": copy.deepcopy(tmpl.get("spec") or {}),
                        "status": {"phase": "Bound"}})
            volumes.append({"name": tmpl["metadata"]["name"],
                            "persistentVolumeClaim": {"claimName": claim}})
        return volumes

    # ------------------------------------------------------------------ services
    def _endpoints(self, svc: Obj) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        selector = (svc.get("spec") or {}).get("selector")
        if not selector:
            return
        match = selector_dict({"matchLabels": selector})
        pods = self.store.list("pods", ns, lambda p: match(p["metadata"].get("labels") or {}))
        ready, not_ready = [], []
        for p in pods:
            ip = (p.get("status") or {}).get("podIP")
            if not ip:
                continue
            addr = {"ip": ip, "targetRef": {"kind": "Pod", "name": p["metadata"]["name"],
                                            "namespace": ns, "uid": p["metadata"]["uid"]}}
            (ready if is_ready(p) else not_ready).append(addr)
        ports = []
        for sp in svc["spec"].get("ports") or []:
            target = sp.get("targetPort", sp["port"])
            for p in pods:  # a named targetPort is each pod's container port of that name
                with contextlib.suppress(KeyError):
                    target = port_number(p, target)
                    break
            if isinstance(target, int) or str(target).isdigit():
                ports.append({"name": sp.get("name", ""), "port": int(target),
                              "protocol": sp.get("protocol", "TCP")})
        subset: dict[str, Any] = {"ports": ports}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        subsets = [subset] if ready or not_ready else []
        cur = self.store.get("endpoints", ns, name)
        if cur is None:
            with contextlib.suppress(ApiError):
                self.store.create("endpoints", ns, {"metadata": {"name": name,
                                  "labels": dict(svc["metadata"].get("labels") or {})},
                                  "subsets": subsets})
        elif cur.get("subsets") != subsets:
            self.store.mutate("endpoints", ns, name, lambda e: e.__setitem__("subsets", subsets))

    # ------------------------------------------------------------------ garbage
    def _collect_garbage(self) -> None:
        owners = {o["metadata"]["uid"] for r in ("deployments", "replicasets", "statefulsets")
                  for o in self.store.list(r)}
        for resource in ("replicasets", "pods"):
            for obj in self.store.list(resource):
                refs = [r for r in obj["metadata"].get("ownerReferences") or []
                        if r.get("controller")]
                if refs and refs[0]["uid"] not in owners:
                    ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
                    with contextlib.suppress(ApiError):
                        if resource == "pods":
                            if not obj["metadata"].get("deletionTimestamp"):
                                self.delete_pod(ns, name, None)
                        else:
                            self.store.delete(resource, ns, name)
        services = {(s["metadata"]["namespace"], s["metadata"]["name"])
                    for s in self.store.list("services")}
        for ep in self.store.list("endpoints"):
            key = (ep["metadata"]["namespace"], ep["metadata"]["name"])
            if key not in services:
                with contextlib.suppress(ApiError):
                    self.store.delete("endpoints", *key)
