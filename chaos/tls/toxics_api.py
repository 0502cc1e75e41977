"""The two Toxiproxy API calls TLS faults need: add a toxic to a proxy, remove it again.

Thin wrappers over the project's client, so a TLS fault rebuilt from its journal record
(API URL, proxy, toxic name) can be reverted by `pipechaos rollback`.
"""

from __future__ import annotations

from typing import Any

from chaos.platforms.base import PlatformError
from chaos.proxy.client import (
    AlreadyExists,
    ProxyNotFound,
    ToxicNotFound,
    ToxiproxyClient,
    ToxiproxyError,
    Unreachable,
)

TIMEOUT_S = 5.0


def add_toxic(api_url: str, proxy: str, toxic: dict[str, Any]) -> None:
    """Add the toxic; one of the same name already there (e.g. on replay) counts as done."""
    try:
        with ToxiproxyClient(api_url, timeout=TIMEOUT_S) as client:
            client.add_toxic(
                proxy, str(toxic["type"]), stream=str(toxic.get("stream", "downstream")),
                toxicity=float(toxic.get("toxicity", 1.0)),
                attributes=dict(toxic.get("attributes") or {}), name=str(toxic["name"]),
            )
    except AlreadyExists:
        return
    except ToxiproxyError as exc:
        problem = f"proxy API refused toxic {toxic.get('name')!r} on {proxy!r}: {exc}"
        raise PlatformError(problem) from None


def remove_toxic(api_url: str, proxy: str, name: str, embedded: bool = False) -> bool:
    """Remove the toxic; False when it was not there (already reverted). Idempotent.

    An embedded proxy server lives and dies with its run, toxics included: when it no
    longer answers, nothing of this toxic is left to revert.
    """
    try:
        with ToxiproxyClient(api_url, timeout=TIMEOUT_S) as client:
            client.remove_toxic(proxy, name)
    except (ToxicNotFound, ProxyNotFound):
        return False
    except Unreachable as exc:
        if embedded:
            return False
        raise PlatformError(f"proxy API {api_url} unreachable: {exc}") from exc
    except ToxiproxyError as exc:
        problem = f"proxy API could not remove toxic {name!r} from {proxy!r}: {exc}"
        raise PlatformError(problem) from None
    return True
