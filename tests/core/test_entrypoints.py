"""chaos.entrypoints reads the same pipechaos.* entry points as importlib.metadata, cheaply."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from chaos import entrypoints
from chaos.entrypoints import EntryPoint

from .core_helpers import PLUGINS, ROOT

GROUPS = [
    "pipechaos.faults",
    "pipechaos.checks",
    "pipechaos.probes",
    "pipechaos.platforms",
    "pipechaos.platform_checks",
    "pipechaos.publishers",
    "pipechaos.observers",
]


def by_importlib(group: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for ep in metadata.entry_points().select(group=group):
        table.setdefault(ep.name, ep.value)  # first on sys.path wins
    return table


def table_of(found: entrypoints.Table, group: str) -> dict[str, str]:
    return {name: ep.value for name, ep in found.get(group, {}).items()}


@pytest.mark.parametrize("with_plugins", [False, True])
def test_same_table_as_importlib_metadata(
    with_plugins: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = [p for p in sys.path if p != str(PLUGINS)]
    if with_plugins:
        path.insert(0, str(PLUGINS))
    monkeypatch.setattr(sys, "path", path)
    found = entrypoints.read("pipechaos.")
    for group in GROUPS:
        assert table_of(found, group) == by_importlib(group), group
    assert ("test.marker" in found["pipechaos.faults"]) is with_plugins
    assert "pod.kill" in found["pipechaos.faults"]
    assert set(found) <= set(GROUPS)


def dist(root: Path, dirname: str, text: str | bytes | None) -> Path:
    info = root / dirname
    info.mkdir(parents=True)
    if isinstance(text, bytes):
        (info / "entry_points.txt").write_bytes(text)
    elif text is not None:
        (info / "entry_points.txt").write_text(text)
    return info


def test_comments_whitespace_and_other_groups(tmp_path: Path) -> None:
    dist(
        tmp_path,
        "demo-1.0.dist-info",
        "# comment\n; another comment\n[console_scripts]\nx = demo:main\n\n"
        "  [pipechaos.faults]  \n   a.b   =   demo.mod : OBJ.sub  [extra]  \n"
        "# a = nope:NOPE\nno equals sign here\n= no name\nb=demo:B\n"
        "[pipechaos.checks]\nc = demo:C\n[pipechaosx]\nd = demo:D\n",
    )
    found = entrypoints.read("pipechaos.", [str(tmp_path)])
    assert found == {
        "pipechaos.faults": {
            "a.b": EntryPoint("a.b", "demo.mod : OBJ.sub  [extra]", "pipechaos.faults"),
            "b": EntryPoint("b", "demo:B", "pipechaos.faults"),
        },
        "pipechaos.checks": {"c": EntryPoint("c", "demo:C", "pipechaos.checks")},
    }


def test_first_distribution_on_the_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    dist(first, "My.Plugin-2.0.dist-info", "[pipechaos.faults]\nx = new:X\n")
    dist(second, "my_plugin-1.0.egg-info", "[pipechaos.faults]\nx = old:X\ny = old:Y\n")
    dist(second, "other-1.0.dist-info", "[pipechaos.faults]\nx = other:X\nz = other:Z\n")
    found = table_of(entrypoints.read("pipechaos.", [str(first), str(second)]), "pipechaos.faults")
    # my_plugin 1.0 is shadowed entirely (no y); other's x loses to the earlier distribution
    assert found == {"x": "new:X", "z": "other:Z"}


def test_odd_path_entries_are_ignored(tmp_path: Path) -> None:
    good = tmp_path / "good"
    dist(good, "good-1.dist-info", "[pipechaos.probes]\np = good:P\n")
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped-1.dist-info/entry_points.txt", "[pipechaos.probes]\nq = z:Q\n")
    path: list[object] = [str(archive), str(tmp_path / "missing"), "bad\x00path", 42, str(good)]
    found = entrypoints.read("pipechaos.", path)
    assert table_of(found, "pipechaos.probes") == {"p": "good:P"}


def test_broken_metadata_does_not_crash(tmp_path: Path) -> None:
    dist(tmp_path, "binary-1.dist-info", b"\xff\xfe\x00garbage[[[\n")
    dist(tmp_path, "nofile-1.dist-info", None)
    dist(tmp_path, "dirfile-1.dist-info", None).joinpath("entry_points.txt").mkdir()
    dist(tmp_path, "garbage-1.dist-info", "][\n[\n=\n[pipechaos.faults\nx = y:Z\n")
    (tmp_path / "flat-1.dist-info").write_text("a file, not a directory")
    unreadable = dist(tmp_path, "locked-1.dist-info", "[pipechaos.faults]\nl = l:L\n")
    (unreadable / "entry_points.txt").chmod(0)
    dist(tmp_path, "fine-1.dist-info", "[pipechaos.faults]\nf = fine:F\n")
    found = table_of(entrypoints.read("pipechaos.", [str(tmp_path)]), "pipechaos.faults")
    assert found["f"] == "fine:F"
    assert set(found) <= {"f", "l"}  # root may read the locked file anyway


def test_load_follows_the_attribute_chain() -> None:
    ep = EntryPoint("j", "os.path : join.__name__ [extra1, extra2]", "g")
    assert ep.load() == "join"
    assert EntryPoint("m", "os.path", "g").load() is os.path
    with pytest.raises(ModuleNotFoundError):
        EntryPoint("x", "no_such_module_xyz:thing", "g").load()
    with pytest.raises(AttributeError):
        EntryPoint("x", "os:no_such_attribute", "g").load()
    with pytest.raises(AttributeError, match="read-only"):
        ep.name = "k"
    assert ep == EntryPoint("j", ep.value, "g") and hash(ep) == hash(EntryPoint("j", ep.value, "g"))
    assert "os.path" in repr(ep)


def test_normalize_is_pep_503() -> None:
    assert entrypoints.normalize("My.Plugin__x--Y") == "my_plugin_x_y"
    assert entrypoints.normalize("ruamel.yaml") == "ruamel_yaml"


def test_listing_names_does_not_import_importlib_metadata() -> None:
    code = (
        "import sys, chaos.registry\n"
        "names = chaos.registry.faults.names()\n"
        "assert 'test.marker' in names and 'pod.kill' in names, names\n"
        "print(sorted(m for m in ('importlib.metadata', 'difflib') if m in sys.modules))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PLUGINS), str(ROOT)]))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
