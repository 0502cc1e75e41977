"""Where a deployment's CA lives, so faults can sign bad certificates the pods would trust.

The local platform writes it once per deployment into `<run_dir>/pods/data/ca/`
(docs/contracts.md). A platform may instead offer `certificate_authority() -> (cert, key)`;
that accessor wins when present (the Kubernetes platform would read it from a Secret).
"""

from __future__ import annotations

from pathlib import Path

CA_DIR = Path("pods") / "data" / "ca"
CERT_NAME = "ca.pem"
KEY_NAMES = ("ca-key.pem", "ca.key", "ca_key.pem", "key.pem", "ca.key.pem")


class CaNotFound(Exception):
    """No deployment CA: the target has no TLS component or the platform is not up."""


def ca_file(run_dir: Path) -> Path:
    return run_dir / CA_DIR / CERT_NAME


def read_ca(run_dir: Path) -> tuple[bytes, bytes]:
    """(cert PEM, key PEM) of the deployment CA under `run_dir`."""
    folder = run_dir / CA_DIR
    cert = folder / CERT_NAME
    if not cert.is_file():
        raise CaNotFound(f"no deployment CA at {cert}")
    for name in KEY_NAMES:
        key = folder / name
        if key.is_file():
            return cert.read_bytes(), key.read_bytes()
    raise CaNotFound(f"no CA key beside {cert} (looked for {', '.join(KEY_NAMES)})")


def platform_ca(platform: object, run_dir: Path) -> tuple[bytes, bytes]:
    """The CA from the platform's accessor when it has one, else from the run directory."""
    accessor = getattr(platform, "certificate_authority", None)
    if callable(accessor):
        cert, key = accessor()
        return bytes(cert), bytes(key)
    return read_ca(run_dir)
