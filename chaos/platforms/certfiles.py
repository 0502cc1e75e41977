"""Certificate files of a local deployment: the per-deployment CA, serving certs, swaps.

`restore_swap` needs no platform (only paths and a pid), so `pipechaos rollback` can put
a rotated certificate back after the runner died.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from chaos.platforms.base import CertificateSwap
from chaos.tls.certs import make_ca, make_server_cert


@dataclass(frozen=True)
class CertificateSwaps(CertificateSwap):
    """A rotation over several replicas: base fields = replica 0, `replicas` = all of them."""

    replicas: tuple[CertificateSwap, ...] = ()


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write via a temporary file and rename, so a reloading server never reads half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def install_ca(ca_dir: Path) -> tuple[bytes, bytes]:
    """Create the deployment CA in `ca_dir` (ca.pem, ca-key.pem); return (cert, key) PEM."""
    cert, key = make_ca("pipechaos local deployment CA")
    write_atomic(ca_dir / "ca.pem", cert, 0o644)
    write_atomic(ca_dir / "ca-key.pem", key)
    return cert, key


def issue(tls_dir: Path, ca: tuple[bytes, bytes], hosts: list[str]) -> tuple[Path, Path]:
    """A serving cert for `hosts` in tls_dir/{cert,key}.pem; return the two paths."""
    cert, key = make_server_cert(ca[0], ca[1], hosts)
    cert_path, key_path = tls_dir / "cert.pem", tls_dir / "key.pem"
    write_atomic(cert_path, cert, 0o644)
    write_atomic(key_path, key)
    return cert_path, key_path


def swap_files(
    service: str, tls_dir: Path, cert_pem: bytes, key_pem: bytes, pid: int | None
) -> CertificateSwap:
    """Back up tls_dir/{cert,key}.pem, write the new pair; the caller sends SIGHUP."""
    token = secrets.token_hex(4)
    cert_path, key_path = tls_dir / "cert.pem", tls_dir / "key.pem"
    backup_cert = tls_dir / f"cert.pem.{token}.bak"
    backup_key = tls_dir / f"key.pem.{token}.bak"
    shutil.copy2(cert_path, backup_cert)
    shutil.copy2(key_path, backup_key)
    write_atomic(cert_path, cert_pem, 0o644)
    write_atomic(key_path, key_pem)
    return CertificateSwap(
        service=service,
        cert_path=str(cert_path),
        key_path=str(key_path),
        backup_cert_path=str(backup_cert),
        backup_key_path=str(backup_key),
        reload_pid=pid,
    )


def restore_files(swap: CertificateSwap) -> bool:
    """Put the backed-up pair back (idempotent); False when the backup is already gone."""
    backup_cert, backup_key = Path(swap.backup_cert_path), Path(swap.backup_key_path)
    if not (backup_cert.exists() and backup_key.exists()):
        return False
    write_atomic(Path(swap.cert_path), backup_cert.read_bytes(), 0o644)
    write_atomic(Path(swap.key_path), backup_key.read_bytes())
    backup_cert.unlink()
    backup_key.unlink()
    return True


def reload(pid: int | None) -> None:
    """SIGHUP a TLS server so it re-reads its files; a vanished pid is not an error."""
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGHUP)


def restore_swap(swap: CertificateSwap) -> None:
    """Undo a rotation without a platform: restore files, SIGHUP the recorded pids."""
    parts = swap.replicas if isinstance(swap, CertificateSwaps) and swap.replicas else (swap,)
    for part in parts:
        restore_files(part)
        reload(part.reload_pid)


def swap_from_record(record: dict[str, object]) -> CertificateSwap:
    """Rebuild a swap from its journal form (dataclasses.asdict of either class)."""

    def one(raw: dict[str, object]) -> CertificateSwap:
        pid = raw.get("reload_pid")
        return CertificateSwap(
            service=str(raw["service"]),
            cert_path=str(raw["cert_path"]),
            key_path=str(raw["key_path"]),
            backup_cert_path=str(raw["backup_cert_path"]),
            backup_key_path=str(raw["backup_key_path"]),
            reload_pid=pid if isinstance(pid, int) else None,
        )

    base = one(record)
    replicas = record.get("replicas")
    if not isinstance(replicas, list | tuple) or not replicas:
        return base
    parts = tuple(one(r) for r in replicas if isinstance(r, dict))
    return CertificateSwaps(**{**base.__dict__, "replicas": parts})
