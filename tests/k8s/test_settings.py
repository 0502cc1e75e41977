"""The Kubernetes target checks `validate` runs offline (exit 2), without the client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos.cli import main
from chaos.platforms.kubernetes.settings import parse, problems
from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "targets" / "reference-k8s.yaml"


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(TARGET.read_text())
    return doc


def _messages(doc: dict[str, Any]) -> list[str]:
    return [f"{'.'.join(map(str, path))}: {msg}" for path, msg in
            problems(decode(TargetSpec, doc))]


def test_reference_target_is_clean() -> None:
    assert _messages(_doc()) == []


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease"])
def test_system_namespaces_are_always_refused(namespace: str) -> None:
    doc = _doc()
    doc["platform"]["settings"]["namespace"] = namespace
    assert _messages(doc) == [
        f"platform.settings.namespace: {namespace!r} is a system namespace: always refused"]


def test_bad_settings_are_named() -> None:
    doc = _doc()
    doc["platform"]["settings"].update(address_mode="tunnel", colour="red")
    del doc["platform"]["settings"]["namespace"]
    found = "\n".join(_messages(doc))
    assert "platform.settings.colour: unknown setting" in found
    assert "platform.settings.namespace: required" in found
    assert "platform.settings.address_mode: 'tunnel': use one of auto" in found


def test_ordinals_only_on_statefulsets() -> None:
    doc = _doc()
    inventory = doc["components"][1]
    inventory["replicas"] = 2
    doc["observer"]["settings"]["inventory"] = "http://${component:inventory/admin/1}"
    doc["observer"]["settings"]["redis"] = "${component:redis/redis/0}"  # a StatefulSet: fine
    assert _messages(doc) == [
        "observer.settings: ${component:inventory/admin/1}: component 'inventory' has no "
        "stable ordinal (a Deployment's pods are not numbered; use a StatefulSet)"]


def test_proxies_need_the_deployed_proxy_server() -> None:
    doc = _doc()
    doc["proxy_server"] = "embedded"
    assert "proxy_server: the kubernetes platform attaches" in "\n".join(_messages(doc))


def test_auto_mode_is_port_forward_outside_a_pod() -> None:
    spec = decode(TargetSpec, _doc())
    assert parse(spec, inside=False).address_mode == "port-forward"
    assert parse(spec, inside=True).address_mode == "service"


def test_validate_exits_2_with_file_and_line(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    text = TARGET.read_text().replace("namespace: pipechaos-ref", "namespace: kube-system")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr()
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "kube-system" in ln)
    assert f"t.yaml:{line}:" in err.out + err.err
    assert "system namespace" in err.out + err.err


def test_validate_of_a_kubernetes_target_never_imports_the_client() -> None:
    code = ("import json, sys\nfrom chaos.cli import main\n"
            "code = main(['validate', *sys.argv[1:]])\n"
            "print('MODULES ' + json.dumps(sorted(sys.modules)))\nraise SystemExit(code)\n")
    files = [str(ROOT / "experiments" / "consumer-kill.yaml"), "--target", str(TARGET)]
    proc = subprocess.run([sys.executable, "-c", code, *files], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES "))
    modules = json.loads(line.removeprefix("MODULES "))
    assert "chaos.platforms.kubernetes.settings" in modules  # the platform really checked it
    assert not [m for m in modules if m.split(".")[0] == "kubernetes"]
