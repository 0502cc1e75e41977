"""`http-json` observer: the pipeline's final state from one JSON endpoint of its own.

GET `url?run_id=RUN` returns the same tables as the `sql` observer's queries
(chaos/observers/tables.py, docs/own-pipeline.md): an object whose keys are table names and
whose values are lists of rows, each row an array in the table's column order or an object
with the named columns. prepare() fetches once (for a run id that matches nothing) and checks
the shape, so an unreachable endpoint or a malformed body ends the run with one line before
any fault. httpx is imported here only: `validate` and `--help` never load it.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson

from chaos.observers.base import ObserverError
from chaos.observers.tables import TABLES, bulk, document, shape, write_document
from chaos.spec.units import parse_duration

if TYPE_CHECKING:
    from chaos.platforms.base import Platform

_SETTINGS = {"url", "tables", "saga", "effects", "max_attempts", "totals_scope", "timeout",
             "headers", "ca_file"}
_NOTHING = "pipechaos-prepare-matches-no-run"
Tables = dict[str, list[tuple[Any, ...]]]


class HttpJsonObserver:
    """Observer plugin (chaos.observers.base.Observer) reading tables from a JSON endpoint.

    Settings: url (http:// or https://, required; the observer adds `run_id=RUN`), tables
    (the optional tables the endpoint provides: totals, handled_by, drained), saga, effects,
    max_attempts, totals_scope (as the sql observer's), timeout (default 10s), headers,
    ca_file (PEM CA bundle for https).
    """

    description = "reads outcomes, effects and dead letters from a JSON endpoint (GET)"

    def __init__(self, settings: dict[str, Any], platform: Platform | None = None) -> None:
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise ObserverError(
                f"unknown http-json observer setting(s): {', '.join(sorted(unknown))}")
        url = settings.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ObserverError(
                f"http-json observer setting url must be an http:// or https:// URL, got {url!r}")
        self.url = str(url)
        optional = settings.get("tables", [])
        known = [n for n, (_, required) in TABLES.items() if not required]
        if not isinstance(optional, list) or not set(map(str, optional)) <= set(known):
            raise ObserverError(f"http-json observer setting tables: a list of optional tables "
                                f"({', '.join(known)}), got {optional!r}")
        self.required = {n for n, (_, required) in TABLES.items() if required}
        self.tables = frozenset(self.required | set(map(str, optional)))
        self.shape = shape("http-json", settings, self.tables, getattr(platform, "bug", None))
        try:
            timeout = parse_duration(settings.get("timeout", "10s"))
        except ValueError as e:
            raise ObserverError(f"http-json observer setting timeout: {e}") from None
        headers = settings.get("headers", {})
        if not isinstance(headers, dict):
            raise ObserverError("http-json observer setting headers must be a mapping")
        verify: ssl.SSLContext | bool = True
        if settings.get("ca_file") is not None:
            try:
                verify = ssl.create_default_context(cafile=str(settings["ca_file"]))
            except (OSError, ssl.SSLError) as e:
                raise ObserverError(f"http-json observer setting ca_file "
                                    f"{settings['ca_file']!r}: {getattr(e, 'strerror', None) or e}"
                                    ) from None
        self.client = httpx.Client(timeout=timeout, verify=verify, trust_env=False,
                                   headers={str(k): str(v) for k, v in headers.items()})

    def prepare(self) -> None:
        """Fetch once and check every table's shape; ObserverError (one line) if not."""
        self.fetch(_NOTHING)

    def drained(self) -> bool:
        if "drained" not in self.tables:
            return True
        rows = self.fetch("")["drained"]
        return bool(rows) and bool(rows[0][0])

    def observe(self, run_id: str, path: Path) -> None:
        write_document(path, self.collect(run_id))

    def collect(self, run_id: str) -> dict[str, Any]:
        """The observations.json document for `run_id` (docs/observations.md)."""
        with bulk():
            tables = self.fetch(run_id)
        try:
            with bulk():
                return document(self.shape, run_id, tables.__getitem__)
        except (TypeError, ValueError) as e:
            raise ObserverError(f"http-json observer {self.url}: a value of the wrong type "
                                f"({e})") from None

    def fetch(self, run_id: str) -> Tables:
        """GET the tables for `run_id`, each as rows of values in column order."""
        try:
            response = self.client.get(self.url, params={"run_id": run_id})
        except httpx.HTTPError as e:
            raise ObserverError(f"http-json observer cannot reach {self.url}: "
                                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                                ) from None
        if not response.is_success:
            raise ObserverError(f"http-json observer {self.url}: HTTP {response.status_code}")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as e:
            raise ObserverError(f"http-json observer {self.url}: the body is not JSON ({e})") \
                from None
        if not isinstance(body, dict):
            raise ObserverError(f"http-json observer {self.url}: the body must be an object "
                                f"of tables, got {type(body).__name__}")
        missing = sorted(self.tables - set(body))
        if missing:
            raise ObserverError(f"http-json observer {self.url}: missing table(s) "
                                f"{', '.join(missing)}")
        return {name: _rows(self.url, name, body[name]) for name in self.tables}


def _rows(url: str, name: str, value: Any) -> list[tuple[Any, ...]]:
    """A table's rows in column order, from arrays or objects; ObserverError if malformed."""
    columns = TABLES[name][0]
    if not isinstance(value, list):
        raise ObserverError(f"http-json observer {url}: table {name} must be a list of rows")
    out: list[tuple[Any, ...]] = []
    for i, row in enumerate(value):
        if isinstance(row, dict):
            absent = [c for c in columns if c not in row]
            if absent:
                raise ObserverError(f"http-json observer {url}: table {name} row {i} lacks "
                                    f"{', '.join(absent)} (columns: {', '.join(columns)})")
            out.append(tuple(row[c] for c in columns))
        elif isinstance(row, Sequence) and not isinstance(row, str) and len(row) >= len(columns):
            out.append(tuple(row[: len(columns)]))
        else:
            raise ObserverError(f"http-json observer {url}: table {name} row {i} must be an "
                                f"array or object of ({', '.join(columns)})")
    return out
