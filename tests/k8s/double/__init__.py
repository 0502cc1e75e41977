"""A Kubernetes cluster double for tests: see README.md."""

from tests.k8s.double.cluster import Cluster
from tests.k8s.double.record import Request

__all__ = ["Cluster", "Request"]
