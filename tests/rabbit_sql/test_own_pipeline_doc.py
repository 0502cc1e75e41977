"""docs/own-pipeline.md's examples form a target that `pipechaos validate` accepts, without
importing the plugins' heavy clients (SQLAlchemy, psycopg, pika, httpx)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"sqlalchemy", "psycopg", "pika", "httpx", "locust", "gevent"}
VALIDATE = """
import json, sys
from chaos.cli import main
code = main(["validate", sys.argv[1]])
sys.stdout.flush()
print("MODULES " + json.dumps(sorted(sys.modules)))
raise SystemExit(code)
"""


def test_doc_examples_validate_as_one_target_without_heavy_imports(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "own-pipeline.md").read_text()
    doc: dict[str, object] = {
        "apiVersion": "pipechaos/v1", "kind": "Target", "metadata": {"name": "own"},
        "proxies": [{"name": "producer-broker", "upstream": "${component:broker/amqp}"}],
    }
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        doc.update(yaml.safe_load(block))
    assert {"publisher", "observer", "probes", "components"} <= set(doc)
    target = tmp_path / "own.yaml"
    target.write_text(yaml.safe_dump(doc))
    proc = subprocess.run([sys.executable, "-c", VALIDATE, str(target)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES "))
    modules = {m.split(".")[0] for m in json.loads(line.removeprefix("MODULES "))}
    assert not modules & HEAVY, sorted(modules & HEAVY)
