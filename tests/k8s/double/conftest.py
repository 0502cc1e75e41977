"""Shared fixtures of the double's own tests."""

from __future__ import annotations

import pytest
from kubernetes import client, config

from tests.k8s.double import Cluster


@pytest.fixture(scope="module")
def core(k8s_double_module: Cluster) -> client.CoreV1Api:
    """The official client's CoreV1Api on the module's cluster, through its kubeconfig."""
    api = config.new_client_from_config(config_file=str(k8s_double_module.kubeconfig))
    return client.CoreV1Api(api)
