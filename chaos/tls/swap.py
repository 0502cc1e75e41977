"""Undo a certificate rotation from its journal record alone (`pipechaos rollback`).

The live run reverts through `Platform.restore_certificate`; after a SIGKILL there is no
platform, so this does what the local platform does: copy the backups back over the
serving files and SIGHUP the server so it reloads them (no restart). A Kubernetes swap
(`kind: secret`, names only) is undone through the platform its record names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from chaos.platforms.base import CertificateSwap, SecretSwap


def swap_to_dict(swap: CertificateSwap | SecretSwap) -> dict[str, Any]:
    if isinstance(swap, SecretSwap):
        return {"kind": "secret", **asdict(swap)}
    return asdict(swap)


def secret_swap(data: dict[str, Any]) -> SecretSwap:
    fields = {k: v for k, v in data.items() if k != "kind"}
    return SecretSwap(**fields)


def undo_record(data: dict[str, Any]) -> int:
    """Undo a journaled swap (one replica, or several under `replicas`); parts undone."""
    if data.get("kind") == "secret":
        from chaos.platforms.detached import reattach

        swap = secret_swap(data)
        handle = reattach(swap.access)
        if handle is None:
            raise RuntimeError(f"no platform to restore secret {swap.secret} with")
        handle.restore_certificate(swap)
        return 1
    parts = data.get("replicas") or [data]
    return sum(undo_swap(_from_dict(part)) for part in parts)


def _from_dict(data: dict[str, Any]) -> CertificateSwap:
    pid = data.get("reload_pid")
    return CertificateSwap(
        service=str(data["service"]),
        cert_path=str(data["cert_path"]),
        key_path=str(data["key_path"]),
        backup_cert_path=str(data["backup_cert_path"]),
        backup_key_path=str(data["backup_key_path"]),
        reload_pid=int(pid) if pid is not None else None,
    )


def undo_swap(swap: CertificateSwap) -> bool:
    """Put the backed-up files back and signal a reload; False when nothing was left to undo.

    Idempotent: a missing backup means an earlier revert (by the platform, which removes
    them) already restored the files.
    """
    pairs = [(swap.backup_cert_path, swap.cert_path), (swap.backup_key_path, swap.key_path)]
    if not all(Path(backup).is_file() for backup, _ in pairs):
        return False
    for backup, live in pairs:
        tmp = Path(live + ".pipechaos-restore")
        shutil.copyfile(backup, tmp)
        os.replace(tmp, live)
    if swap.reload_pid is not None and _is_pod(swap.reload_pid):
        # a server gone meanwhile is fine: its replacement reads the restored files
        with contextlib.suppress(ProcessLookupError):
            os.kill(swap.reload_pid, signal.SIGHUP)
    return True


def _is_pod(pid: int) -> bool:
    """Only signal a live pod process: after a crash the pid may belong to anything else,
    and SIGHUP's default action would kill it."""
    try:
        return "PIPECHAOS_POD" in psutil.Process(pid).environ()
    except (psutil.Error, OSError):
        return False
