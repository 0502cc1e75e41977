"""Reference resolution rules (pure) and the reaper's bookkeeping."""

from __future__ import annotations

import io

import pytest

from chaos.platforms.base import PlatformError
from chaos.platforms.reaper import serve
from chaos.platforms.references import (
    AddressBook,
    references,
    resolve_text,
    resolve_value,
    with_index,
)

BOOK = AddressBook(
    ports={("redis", "redis", 0): 7000, ("consumer", "admin", 0): 7100,
           ("consumer", "admin", 1): 7101},
    proxies={"consumer-1-broker": "127.0.0.1:7201"},
    proxy_api="http://127.0.0.1:8474",
)


def test_resolves_every_kind() -> None:
    text = "redis://${component:redis/redis} ${component:consumer/admin/1} ${ proxy_api }"
    assert resolve_text(text, BOOK) == (
        "redis://127.0.0.1:7000 127.0.0.1:7101 http://127.0.0.1:8474")
    assert resolve_text("no refs, {braces} and $HOME", BOOK) == "no refs, {braces} and $HOME"


def test_index_before_resolving() -> None:
    settings = {"redis": "${proxy:consumer-{index}-broker}", "n": 3, "l": ["{index}", None]}
    assert with_index(settings, 1) == {"redis": "${proxy:consumer-1-broker}", "n": 3,
                                       "l": ["1", None]}
    assert resolve_value(with_index(settings, 1), BOOK)["redis"] == "127.0.0.1:7201"
    with pytest.raises(PlatformError, match="no proxy named 'consumer-0-broker'"):
        resolve_value(with_index(settings, 0), BOOK)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${component:redis/redis/x}", "replica index must be an integer"),
        ("${component:/redis}", "expected component:NAME/PORT"),
        ("${component:a/b/c/d}", "expected component:NAME/PORT"),
        ("${proxy_apis}", "unknown reference"),
    ],
)
def test_bad_references(text: str, message: str) -> None:
    with pytest.raises(PlatformError, match=message):
        resolve_text(text, BOOK)


def test_no_proxy_server() -> None:
    with pytest.raises(PlatformError, match="no proxy server"):
        resolve_text("${proxy_api}", AddressBook())


def test_references_lists_names() -> None:
    assert references({"a": ["${proxy:x}", {"b": "${component:c/p} ${proxy_api}"}]}) == [
        "proxy:x", "component:c/p", "proxy_api"]


def test_reaper_keeps_only_groups_still_listed() -> None:
    lines = "+10\n+11\n-10\nnoise\n+12\n-99\n"
    assert serve(io.StringIO(lines)) == {11, 12}
