"""The `tls` toxic's attribute rules and its refusal of a link it cannot answer on."""

from __future__ import annotations

import asyncio
import random

import pytest

from chaos.proxy.toxics import TOXICS
from chaos.proxy.toxics.base import AttributeError400, ToxicConfig
from chaos.proxy.toxics.tls import Tls
from chaos.tls.certs import make_ca, make_server_cert


def pair() -> tuple[str, str]:
    cert, key = make_server_cert(*make_ca(), ["localhost"])
    return cert.decode(), key.decode()


def test_registered() -> None:
    assert TOXICS["tls"] is Tls


def test_parse_rules() -> None:
    cert, key = pair()
    out = Tls.parse({"cert": cert, "key": key}, Tls.defaults())
    assert out == {"cert": cert, "key": key, "upstream_tls": 1}
    assert Tls.parse({"upstream_tls": 0}, out)["upstream_tls"] == 0  # PATCH keeps the pair
    with pytest.raises(AttributeError400, match="needs attributes cert and key"):
        Tls.parse({}, Tls.defaults())
    with pytest.raises(AttributeError400, match="PEM string"):
        Tls.parse({"cert": 5, "key": key}, Tls.defaults())
    with pytest.raises(AttributeError400, match="0 or 1"):
        Tls.parse({"cert": cert, "key": key, "upstream_tls": True}, Tls.defaults())
    other_key = pair()[1]
    with pytest.raises(AttributeError400, match="do not load"):
        Tls.parse({"cert": cert, "key": other_key}, Tls.defaults())  # not a matching pair


class BareLink:
    """A LinkControl without the proxy's Link internals."""

    def __init__(self) -> None:
        self.rng = random.Random(1)
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def reset(self) -> None:
        self.closed = True


def test_unknown_link_is_closed_not_stalled() -> None:
    cert, key = pair()
    toxic = ToxicConfig("t", "tls", "upstream", 1.0, {"cert": cert, "key": key, "upstream_tls": 1})
    link = BareLink()

    async def go() -> None:
        runner = Tls(toxic, link)
        runner.start()
        runner.stop(removed=False)

    asyncio.run(go())
    assert link.closed
