"""Fixtures exposing the Kubernetes cluster double (tests/k8s/double/README.md)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.k8s.double import Cluster

ROOT_REASON = "needs root: pods of the cluster double run in their own PID/network namespaces"


@pytest.fixture
def requires_root() -> None:
    """Skip with one line when not root (namespaces, veth pairs and a bridge need it)."""
    if os.geteuid() != 0:
        pytest.skip(ROOT_REASON)


@pytest.fixture
def k8s_double(tmp_path: Path) -> Iterator[Cluster]:
    """A fresh, empty cluster double; its kubeconfig is `k8s_double.kubeconfig`."""
    with Cluster.start(tmp_path / "cluster") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def k8s_double_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster double shared by a module's tests (deploy once, save CI time)."""
    with Cluster.start(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster
