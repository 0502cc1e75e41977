"""Reading a Pod spec the way the kubelet does: env, ports, probes, volume sources."""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path
from typing import Any

from tests.k8s.double.store import ApiError, Obj, Store
from tests.k8s.double.volumes import configmap_files, secret_files


class NotReadyYet(Exception):
    """A referenced Secret/ConfigMap is missing (CreateContainerConfigError): retry."""


def container(pod: Obj) -> dict[str, Any]:
    return dict(pod["spec"]["containers"][0])


def argv(pod: Obj) -> list[str]:
    c = container(pod)
    out = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
    if not out:
        raise ApiError(422, "Invalid", "the double needs a container command (images are not run)")
    if out[0] in ("python", "python3"):
        out[0] = sys.executable
    return out


def _field_ref(pod: Obj, path: str) -> str:
    meta = pod["metadata"]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str((meta.get(m[1]) or {}).get(m[2], ""))
    simple = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
              "metadata.uid": meta.get("uid"), "spec.nodeName": pod["spec"].get("nodeName"),
              "status.podIP": (pod.get("status") or {}).get("podIP"),
              "status.hostIP": (pod.get("status") or {}).get("hostIP"),
              "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default")}
    return str(simple.get(path) or "")


def _source(store: Store, ns: str, kind: str, name: str, key: str | None,
            optional: bool) -> dict[str, str]:
    obj = store.get(kind, ns, name)
    if obj is None:
        if optional:
            return {}
        raise NotReadyYet(f'{kind[:-1]} "{name}" not found')
    files = secret_files(obj, None) if kind == "secrets" else configmap_files(obj, None)
    data = {k: v.decode(errors="replace") for k, v in files.items()}
    if key is not None and key not in data and not optional:
        raise NotReadyYet(f'couldn\'t find key {key} in {kind[:-1]} {ns}/{name}')
    return data


def environment(store: Store, pod: Obj, base: dict[str, str]) -> dict[str, str]:
    """The container's environment over `base` (what the double itself passes)."""
    ns = pod["metadata"]["namespace"]
    c = container(pod)
    env = dict(base)
    for src in c.get("envFrom") or []:
        prefix = src.get("prefix", "")
        for kind, ref in (("configmaps", src.get("configMapRef")),
                          ("secrets", src.get("secretRef"))):
            if ref:
                data = _source(store, ns, kind, ref["name"], None, bool(ref.get("optional")))
                env.update({prefix + k: v for k, v in data.items()})
    for var in c.get("env") or []:
        name = var["name"]
        if "value" in var:
            env[name] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                               lambda m: env.get(m[1], m[0]), str(var["value"]))
            continue
        vf = var.get("valueFrom") or {}
        if "fieldRef" in vf:
            env[name] = _field_ref(pod, vf["fieldRef"]["fieldPath"])
        for kind, key in (("configmaps", "configMapKeyRef"), ("secrets", "secretKeyRef")):
            if key in vf:
                ref = vf[key]
                data = _source(store, ns, kind, ref["name"], ref["key"],
                               bool(ref.get("optional")))
                if ref["key"] in data:
                    env[name] = data[ref["key"]]
    return env


def port_number(pod: Obj, port: Any) -> int:
    """A probe's or Service's port: a number, or a container port's name."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for c in pod["spec"]["containers"]:
        for p in c.get("ports") or []:
            if p.get("name") == port:
                return int(p["containerPort"])
    raise KeyError(f"no container port named {port!r}")


SOURCES = {  # volume kind -> (resource, field naming the object, files of it)
    "secret": ("secrets", "secretName", secret_files),
    "configMap": ("configmaps", "name", configmap_files),
}


def volume_files(store: Store, pod: Obj, volume: dict[str, Any]) -> dict[str, bytes] | None:
    """The files of a secret/configMap volume; None for emptyDir and other kinds."""
    for kind, (resource, field, files) in SOURCES.items():
        if kind in volume:
            ref = volume[kind]
            obj = store.get(resource, pod["metadata"]["namespace"], ref[field])
            if obj is None:
                if ref.get("optional"):
                    return {}
                raise NotReadyYet(f'{resource[:-1]} "{ref[field]}" not found')
            return files(obj, ref.get("items"))
    return None


def mounts(pod: Obj, volume_dir: Path) -> list[tuple[Path, str, bool]]:
    """(host source, mountPath, readOnly) for every volumeMount of the container."""
    c = container(pod)
    out = []
    for m in c.get("volumeMounts") or []:
        out.append((volume_dir / m["name"], m["mountPath"], bool(m.get("readOnly"))))
    return out


def decode(value: str) -> bytes:
    return base64.b64decode(value)
