"""Locust file: one `OrderPublisher` user per load process runs the open-loop `Driver`.

Started by `chaos.load.launcher` as `python -m locust -f <this file> --headless ...` with
PIPECHAOS_LOAD_SETTINGS (the settings file) in its environment, or as a distributed worker
(`pipechaos load-worker`) that gets everything from the master over Locust messages
(`chaos.load.messages`; PIPECHAOS_LOAD_INDEX: the slot it asks for).  Locust's own
statistics see every publish as a request.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

import gevent
from locust import User, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from chaos.load.driver import Driver
from chaos.load.messages import MasterRelay, WorkerLink
from chaos.load.settings import ENV_INDEX, ENV_SETTINGS, LoadPaths, LoadSettings, write_atomic
from chaos.publishers.base import Publisher, PublishResult

_settings_file = Path(os.environ.get(ENV_SETTINGS, "settings.json"))
_started = False
_link: WorkerLink | None = None  # on a distributed worker


def load_publisher(kind: str, settings: dict[str, Any], run_id: str) -> Publisher:
    """The publisher plugin registered under `kind` (the runner's own registry)."""
    from chaos import registry

    try:
        cls: Any = registry.publishers.get(kind)
    except registry.RegistryError as exc:
        raise ValueError(str(exc)) from None
    publisher: Publisher = cls(settings, run_id)
    return publisher


def _index(environment: Environment) -> int:
    raw = os.environ.get(ENV_INDEX, "")
    if raw.isdigit():
        return int(raw)
    return int(getattr(environment.runner, "worker_index", 0))


def _watch_parent(environment: Environment) -> None:
    """Quit if the launcher (our parent) dies, so no orphan keeps publishing."""
    parent = os.getppid()
    while True:
        gevent.sleep(1.0)
        if os.getppid() != parent and environment.runner is not None:
            environment.runner.quit()
            return


def _on_init(environment: Environment, **_: Any) -> None:
    global _link
    gevent.spawn(_watch_parent, environment)
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        paths = LoadPaths(_settings_file.parent.parent)
        MasterRelay(runner, paths, _settings_file.read_bytes())
    elif isinstance(runner, WorkerRunner):
        _link = WorkerLink(runner)


_init_event: Any = events.init  # locust's EventHook is untyped
_init_event.add_listener(_on_init)


class OrderPublisher(User):
    """Publishes the orders of this process's share of the schedule, then idles."""

    kind = "publisher"

    def _report(self, result: PublishResult, ms: float, size: int) -> None:
        self.environment.events.request.fire(
            request_type="publish",
            name=self.kind,
            response_time=ms,
            response_length=size,
            exception=None if result.outcome == "ok" else RuntimeError(
                f"{result.outcome}: {result.error}"
            ),
            context={},
        )

    @task
    def run_schedule(self) -> None:
        global _started
        if _started:  # one driver per process, whatever Locust's user count
            gevent.sleep(3600)
            return
        _started = True
        paths = LoadPaths(_settings_file.parent.parent)
        index = _index(self.environment)
        try:
            if _link is not None:  # a distributed worker: no file, only messages
                raw = os.environ.get(ENV_INDEX, "")
                settings = _link.hello(int(raw) if raw.isdigit() else None)
                index = _link.index
            else:
                settings = LoadSettings.from_json(_settings_file.read_bytes())
            self.kind = settings.publisher_type
            publisher = load_publisher(
                settings.publisher_type, settings.publisher_settings, settings.run_id
            )
            Driver(settings, index, paths, publisher, self._report, link=_link).run()
            publisher.close()
        except Exception as e:
            message = f"{type(e).__name__}: {e}".splitlines()[0]
            text = message + "\n" + traceback.format_exc()
            if _link is not None:
                _link.send("error", {"message": text})
            else:  # atomic: the launcher polls for this file and reads its first line
                write_atomic(paths.error(index), text.encode())
            if self.environment.runner is not None:
                self.environment.runner.quit()
            return
        while True:
            gevent.sleep(3600)
