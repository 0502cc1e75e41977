"""Open a page in a real headless Chromium (Debian's `chromium`) over the DevTools protocol
(aiohttp's websocket client, already a dependency), recording console errors and every
network request, and take a screenshot.

Also a tool: `python -m tests.report.chromium REPORT.html OUT.png [WIDTH]` writes the
small screenshot that docs/reports.md shows.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

PACKAGE = "chromium"  # the Debian package
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
    "--remote-debugging-port=0",
)
BLOCKED = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]


def chromium_binary() -> str | None:
    return shutil.which("chromium")


@dataclass
class PageVisit:
    png: bytes = b""
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for


class _Session:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        await self.ws.send_json({"id": number, "method": method, "params": params})
        while True:
            msg: dict[str, Any] = await self.ws.receive_json()
            if msg.get("id") == number:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            self.events.append(msg)

    async def wait_for(self, method: str, timeout: float) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive_json()
                self.events.append(msg)
                if msg.get("method") == method:
                    return


def _port(user_data: Path, proc: subprocess.Popen[bytes], timeout: float) -> int:
    marker = user_data / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}")
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


async def _visit(port: int, url: str, width: int, height: int) -> PageVisit:
    visit = PageVisit()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json()
        page = next(t for t in targets if t.get("type") == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            s = _Session(ws)
            for domain in ("Page", "Runtime", "Log", "Network"):
                await s.call(f"{domain}.enable")
            await s.call("Network.setBlockedURLs", urls=BLOCKED)
            await s.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                         deviceScaleFactor=1, mobile=False)
            await s.call("Page.navigate", url=url)
            await s.wait_for("Page.loadEventFired", timeout=30)
            await asyncio.sleep(0.3)  # late console messages
            shot = await s.call("Page.captureScreenshot", format="png")
            visit.png = base64.b64decode(shot["data"])
            await s.call("Runtime.evaluate", expression="0")  # drain pending events
    for e in s.events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Network.requestWillBeSent":
            visit.requests.append(str(p.get("request", {}).get("url")))
        elif method == "Runtime.exceptionThrown":
            details = p.get("exceptionDetails", {})
            thrown = details.get("exception", {}).get("description", "")
            visit.console_errors.append(f"{details.get('text')} {thrown}".strip())
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            visit.console_errors.append(str(p.get("args")))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            visit.console_errors.append(str(p["entry"].get("text")))
    return visit


def visit(path: Path, width: int = 1200, height: int = 1600) -> PageVisit:
    binary = chromium_binary()
    if binary is None:
        raise RuntimeError(f"chromium not installed (Debian package `{PACKAGE}`)")
    with tempfile.TemporaryDirectory(prefix="pipechaos-chromium-") as tmp:
        user_data = Path(tmp)
        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={user_data}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            port = _port(user_data, proc, timeout=60)
            return asyncio.run(_visit(port, path.resolve().as_uri(), width, height))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def ink(png: bytes) -> tuple[float, int]:
    """Share of pixels that are not the background, and the number of distinct colours."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 20) or []
    background = max(colors)[0] if colors else 0
    total = image.width * image.height
    return 1.0 - background / total, len(colors)


def main(argv: list[str]) -> int:
    from PIL import Image

    report, out = Path(argv[0]), Path(argv[1])
    width = int(argv[2]) if len(argv) > 2 else 900
    page = visit(report, width=1200, height=1500)
    image = Image.open(io.BytesIO(page.png)).convert("RGB")
    image = image.resize((width, image.height * width // image.width), Image.LANCZOS)
    image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT)  # small, for the docs
    image.save(out, optimize=True)
    print(f"{out}: {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
