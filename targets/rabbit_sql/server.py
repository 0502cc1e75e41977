"""Run a Debian server binary as its own unprivileged user, owning its data directory.

PostgreSQL refuses to run as root and RabbitMQ's files belong to `rabbitmq`; as root we drop
to that user, otherwise (a CI runner, a developer) we run as ourselves.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable
from pathlib import Path

from targets.rabbit_sql.pod import die


def account(user: str) -> tuple[int, int] | None:
    """(uid, gid) to drop to: `user`'s when we are root, None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        die(f"system user {user!r} does not exist (is its Debian package installed?)")
    return entry.pw_uid, entry.pw_gid


def own(path: Path, ids: tuple[int, int] | None) -> None:
    """Give `path` and everything under it to the server's user."""
    if ids is None:
        return
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.lchown(name, *ids)
    # the server must be able to reach its directory through every parent
    for parent in path.resolve().parents:
        if not os.stat(parent).st_mode & 0o001:
            die(f"{parent} is not searchable by other users; the server cannot reach {path}")


def drop(ids: tuple[int, int] | None) -> Callable[[], None]:
    """A preexec_fn (or a call before exec) that becomes the server's user."""

    def become() -> None:
        if ids is not None:
            os.setgroups([])
            os.setgid(ids[1])
            os.setuid(ids[0])

    return become
