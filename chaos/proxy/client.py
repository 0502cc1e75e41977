"""A thin client for the Toxiproxy HTTP API (ours or the real server).

Unlike toxiproxy-python: a base URL per instance, a timeout on every call, PATCH updates
and typed errors. Only the documented API is used, so it works against either server.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # httpx is imported when a client is made: `validate` never pays for it
    import httpx


class ToxiproxyError(Exception):
    """Base of every client error; `status` is the HTTP status (0 when unreachable)."""

    status = 0

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ProxyNotFound(ToxiproxyError):
    pass


class ToxicNotFound(ToxiproxyError):
    pass


class AlreadyExists(ToxiproxyError):
    pass


class BadRequest(ToxiproxyError):
    pass


class ServerError(ToxiproxyError):
    pass


class Unreachable(ToxiproxyError):
    pass


class ToxiproxyClient:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        import httpx

        self._httpx = httpx
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                  headers={"User-Agent": "pipechaos"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---------------------------------------------------------------- plumbing
    def _call(self, method: str, path: str, json: Any = None) -> Any:
        try:
            resp = self._http.request(method, path, json=json)
        except self._httpx.HTTPError as exc:
            raise Unreachable(f"{method} {self.base_url}{path}: {exc or type(exc).__name__}") \
                from None
        if resp.status_code >= 400:
            raise _error(resp, path)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise ServerError(f"{method} {path}: answer is not JSON", resp.status_code) from None

    # ---------------------------------------------------------------- server
    def version(self) -> str:
        try:
            resp = self._http.get("/version")
        except self._httpx.HTTPError as exc:
            raise Unreachable(f"GET {self.base_url}/version: {exc or type(exc).__name__}") \
                from None
        if resp.status_code >= 400:
            raise _error(resp, "/version")
        try:
            return str(resp.json()["version"])
        except (ValueError, KeyError, TypeError):
            return resp.text.strip()  # toxiproxy before 2.6 answered plain text

    def proxies(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self._call("GET", "/proxies")
        return result

    def populate(self, proxies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        result = self._call("POST", "/populate", proxies)
        return list(result.get("proxies") or [])

    def reset(self) -> None:
        self._call("POST", "/reset")

    # ---------------------------------------------------------------- proxies
    def proxy(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/proxies/{name}")
        return result

    def create_proxy(self, name: str, listen: str, upstream: str,
                     enabled: bool = True) -> dict[str, Any]:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        result: dict[str, Any] = self._call("POST", "/proxies", body)
        return result

    def update_proxy(self, name: str, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PATCH", f"/proxies/{name}", fields)
        return result

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    # ---------------------------------------------------------------- toxics
    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/proxies/{proxy}/toxics")
        return result

    def add_toxic(self, proxy: str, type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None,
                  name: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": type, "stream": stream, "toxicity": toxicity,
                                "attributes": dict(attributes or {})}
        if name is not None:
            body["name"] = name
        result: dict[str, Any] = self._call("POST", f"/proxies/{proxy}/toxics", body)
        return result

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, Any] | None = None,
                     toxicity: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if attributes is not None:
            body["attributes"] = attributes
        if toxicity is not None:
            body["toxicity"] = toxicity
        result: dict[str, Any] = self._call("PATCH", f"/proxies/{proxy}/toxics/{name}", body)
        return result

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")


def _error(resp: httpx.Response, path: str) -> ToxiproxyError:
    try:
        message = str(resp.json().get("error") or resp.text.strip())
    except (ValueError, AttributeError):
        message = resp.text.strip() or resp.reason_phrase
    status = resp.status_code
    text = f"{resp.request.method} {path}: {status} {message}"
    if status == 404:
        if message == "toxic not found" or (message != "proxy not found" and "/toxics/" in path):
            return ToxicNotFound(text, status)
        return ProxyNotFound(text, status)
    if status == 409:
        return AlreadyExists(text, status)
    if status < 500:
        return BadRequest(text, status)
    return ServerError(text, status)
