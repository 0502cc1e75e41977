"""What tests need from the machine: system packages (scripts/system-packages.txt) and a PATH
without a given command.

`make test` installs the listed packages first when it can (scripts/system-packages.sh);
where it could not, the tests that need one skip with a reason naming it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "scripts" / "system-packages.txt"


@dataclass(frozen=True)
class Need:
    installer: str  # apt, npm, ...
    package: str
    proof: str  # a command on PATH or an absolute path

    def present(self) -> bool:
        if self.proof.startswith("/"):
            return Path(self.proof).exists()
        return shutil.which(self.proof) is not None


def needs(path: Path = PACKAGES) -> dict[str, Need]:
    """The list's lines by package name (the format is in the list's header)."""
    out: dict[str, Need] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2:
            raise ValueError(f"{path}:{n}: expected '[INSTALLER:]PACKAGE PROOF', got {raw!r}")
        installer, _, package = fields[0].rpartition(":")
        out[package] = Need(installer or "apt", package, fields[1])
    return out


def require_package(package: str, why: str, path: Path = PACKAGES) -> None:
    """Skip the calling test, naming `package`, unless it is installed. The package must be
    listed, so that `make test` installs it where it can."""
    need = needs(path).get(package)
    if need is None:
        raise LookupError(f"{package} is not in {path}: list it there (see its header)")
    if not need.present():
        pytest.skip(
            f"needs system package {need.installer}:{package} ({why}); "
            f"`make test` as root on Debian installs it"
        )


def path_without(command: str, scratch: Path, path: str | None = None) -> str:
    """PATH (by default this process's) with `command` hidden: each directory holding it is
    replaced by a directory in `scratch` of symlinks to everything else it holds."""
    dirs = (os.environ.get("PATH", "") if path is None else path).split(os.pathsep)
    out: list[str] = []
    for i, d in enumerate(dirs):
        if not d or not (Path(d) / command).exists():
            out.append(d)
            continue
        copy = scratch / f"path-{i}"
        copy.mkdir(parents=True, exist_ok=True)
        for entry in Path(d).iterdir():
            if entry.name != command and not (copy / entry.name).exists():
                (copy / entry.name).symlink_to(entry)
        out.append(str(copy))
    return os.pathsep.join(out)
