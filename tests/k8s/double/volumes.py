"""Secret and ConfigMap volumes, written the way the kubelet writes them.

Files are links through `..data`, which points at a timestamped directory; an update
writes a new directory and swaps `..data` with one rename, so a reader never sees half a
certificate pair.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from pathlib import Path
from typing import Any


def secret_files(secret: dict[str, Any], items: list[dict[str, Any]] | None) -> dict[str, bytes]:
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    data.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
    return _pick(data, items)


def configmap_files(cm: dict[str, Any], items: list[dict[str, Any]] | None) -> dict[str, bytes]:
    data = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
    return _pick(data, items)


def _pick(data: dict[str, bytes], items: list[dict[str, Any]] | None) -> dict[str, bytes]:
    if not items:
        return data
    return {i.get("path", i["key"]): data[i["key"]] for i in items if i["key"] in data}


def project(target: Path, files: dict[str, bytes]) -> bool:
    """Write `files` into `target` atomically; False when nothing changed."""
    target.mkdir(parents=True, exist_ok=True)
    current = target / "..data"
    if current.exists():
        old = {p.name: p.read_bytes() for p in current.resolve().iterdir() if p.is_file()}
        if old == files:
            return False
    stamp = target / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.time_ns() % 10**9}"
    stamp.mkdir()
    for name, content in files.items():
        path = stamp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o644)
    tmp = target / "..data_tmp"
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(stamp.name)
    previous = current.resolve() if current.is_symlink() else None
    os.replace(tmp, current)
    for name in files:
        link = target / name.split("/")[0]
        if not link.is_symlink():
            link.symlink_to(f"..data/{name.split('/')[0]}")
    for link in target.iterdir():
        if link.is_symlink() and not link.name.startswith("..") and link.name not in {
                n.split("/")[0] for n in files}:
            link.unlink()
    if previous is not None and previous != stamp.resolve():
        shutil.rmtree(previous, ignore_errors=True)
    return True
