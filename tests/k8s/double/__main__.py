"""Run the cluster double by hand: `python -m tests.k8s.double [--layout] [FILE.yaml ...]`.

Prints the kubeconfig path and serves until Ctrl-C, so the platform can be tried with
`KUBECONFIG=... pipechaos run ...` from another shell.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import threading
from pathlib import Path

from tests.k8s.double import Cluster


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.k8s.double")
    parser.add_argument("files", nargs="*", type=Path, help="YAML manifests to apply")
    parser.add_argument("--namespace", default="pipechaos-ref")
    parser.add_argument("--layout", action="store_true",
                        help="deploy the reference pipeline's layout (tests/k8s/layout.py)")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="k8s-double-") as tmp, Cluster.start(
            Path(tmp)) as cluster:
        cluster.create_namespace(args.namespace, labels={"pipechaos.io/chaos": "enabled"})
        if args.layout:
            from tests.k8s.layout import manifests
            cluster.apply(manifests(), namespace=args.namespace)
        for path in args.files:
            cluster.apply(path, namespace=args.namespace)
        cluster.wait_ready(args.namespace, timeout=120)
        print(f"export KUBECONFIG={cluster.kubeconfig}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
