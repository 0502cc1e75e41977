"""A stand-in runner: starts a local target, prints every pid it started, then waits to be
killed. Used by test_runner_death.py (`python runner_script.py RUN_DIR`)."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from chaos.platforms.local import LocalPlatform
from tests.platform.conftest import component, target


def main() -> None:
    run_dir = Path(sys.argv[1])
    spec = target(
        component("parent", settings={"child": True}),
        component("worker", replicas=2),
        proxies=[{"name": "p", "upstream": "${component:worker/admin}"}],
    )
    platform = LocalPlatform(spec, run_dir, None)
    # up() from a short-lived thread: pods must not die when that thread ends
    starter = threading.Thread(target=platform.up)
    starter.start()
    starter.join()
    pods = platform.pods({})
    platform.pause(pods[-1])
    child = run_dir / "pods" / "data" / "parent-0" / "child.pid"
    pids = [p.pid for p in pods] + [int(child.read_text())]
    if platform.proxy_server_pid is not None:
        pids.append(platform.proxy_server_pid)
    time.sleep(1.0)
    alive = [p.name for p in platform.pods({})]
    print(json.dumps({"pids": pids, "alive_after_thread_end": alive}), flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
