"""The Kubernetes platform (docs/platforms.md). The client is imported only by up()."""

from chaos.platforms.kubernetes.platform import KubernetesPlatform

__all__ = ["KubernetesPlatform"]
