"""Allowed hours and a maximum duration: when a scheduled run may touch the target.

Pure: every function takes the time it judges (an aware datetime), so tests inject a clock.
Spec: `DAYS HH:MM-HH:MM [ZONE]`, e.g. `Mon-Fri 09:00-17:00 Europe/Berlin`. DAYS is `daily`
or a comma list of days and day ranges (`Mon,Wed`, `Sat-Sun`, `Fri-Mon`). The end may be
`24:00`; an end before the start crosses midnight (`22:00-06:00` starts on the named days).
ZONE is an IANA name (default UTC), so the hours follow daylight saving time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
Clock = Callable[[], datetime]


class HoursError(ValueError):
    """A spec that does not parse; the message is one line naming the bad part."""


@dataclass(frozen=True)
class AllowedHours:
    text: str
    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # minutes after midnight, 1440 = 24:00; end <= start crosses midnight
    zone: tzinfo

    def stretch(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The allowed stretch that holds `now` (start, end), or None outside the hours."""
        local = now.astimezone(self.zone)
        for back in (0, 1):  # a stretch crossing midnight began the day before
            day = local.date() - timedelta(days=back)
            if day.weekday() not in self.days:
                continue
            begin = _at(day, self.start, self.zone)
            length = (self.end - self.start) % 1440 or 1440
            finish = _at(day, self.start + length, self.zone)
            if begin <= now < finish:
                return begin, finish
        return None


def parse(text: str) -> AllowedHours:
    """`Mon-Fri 09:00-17:00 Europe/Berlin` -> AllowedHours; HoursError if malformed."""
    parts = text.split()
    if len(parts) not in (2, 3):
        raise HoursError(f'want "DAYS HH:MM-HH:MM [ZONE]" (e.g. "Mon-Fri 09:00-17:00 '
                         f'Europe/Berlin"), got "{text}"')  # fmt: skip
    days = _days(parts[0])
    start_text, _, end_text = parts[1].partition("-")
    start, end = _minutes(start_text, parts[1]), _minutes(end_text, parts[1])
    if start == end or start == 1440:
        raise HoursError(f'hours "{parts[1]}" allow no time: the end must differ from the start')
    zone: tzinfo = UTC
    if len(parts) == 3 and parts[2] != "UTC":
        zone = _zone(parts[2])
    return AllowedHours(text, days, start, end, zone)


def parse_duration(text: str) -> float:
    """`90s`, `10m`, `2h`, `1h30m` -> seconds; HoursError if malformed or not positive."""
    found = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", text.strip())
    if not text.strip() or found is None:
        raise HoursError(f'want a duration like 90s, 10m, 2h or 1h30m, got "{text}"')
    h, m, s = (float(g) if g else 0.0 for g in found.groups())
    total = h * 3600 + m * 60 + s
    if total <= 0:
        raise HoursError(f'the duration must be more than 0, got "{text}"')
    return total


@dataclass(frozen=True)
class Limits:
    """What bounds one run: allowed hours, a maximum duration, and the clock to read."""

    hours: AllowedHours | None = None
    max_duration_s: float | None = None
    clock: Clock = lambda: datetime.now(UTC)

    def gate(self) -> tuple[str | None, datetime | None, str]:
        """At the run's start: (why to skip or None, the deadline or None, why it ends)."""
        now = self.clock()
        deadline, why = None, ""
        if self.hours is not None:
            held = self.hours.stretch(now)
            if held is None:
                local = now.astimezone(self.hours.zone).strftime("%a %H:%M %Z")
                return f"outside the allowed hours {self.hours.text} (now {local})", None, ""
            deadline = held[1].astimezone(UTC)  # compared in UTC, never as wall clock
            end = held[1].astimezone(self.hours.zone).strftime("%a %H:%M %Z")
            why = f"the allowed hours {self.hours.text} ended ({end})"
        if self.max_duration_s is not None:
            limit = now + timedelta(seconds=self.max_duration_s)
            if deadline is None or limit < deadline:
                deadline, why = limit, f"the maximum duration {self.max_duration_s:g}s was reached"
        return None, deadline, why


def from_flags(allowed_hours: str | None, max_duration: str | None) -> Limits:
    """`run --allowed-hours H --max-duration D` (either may be None) -> Limits; a bad value
    raises HoursError naming its flag."""
    try:
        hours = parse(allowed_hours) if allowed_hours is not None else None
    except HoursError as exc:
        raise HoursError(f"--allowed-hours: {exc}") from None
    try:
        seconds = parse_duration(max_duration) if max_duration is not None else None
    except HoursError as exc:
        raise HoursError(f"--max-duration: {exc}") from None
    return Limits(hours, seconds)


def _days(text: str) -> frozenset[int]:
    if text.lower() in ("daily", "*"):
        return frozenset(range(7))
    out: set[int] = set()
    for item in text.split(","):
        first, dash, last = item.partition("-")
        a = _day(first, text)
        b = _day(last, text) if dash else a
        out.update((a + k) % 7 for k in range((b - a) % 7 + 1))
    return frozenset(out)


def _day(name: str, whole: str) -> int:
    key = name.strip().lower()[:3]
    if key not in DAYS or len(name.strip()) < 3:
        raise HoursError(f'days "{whole}": unknown day "{name}" (use Mon Tue Wed Thu Fri Sat '
                         "Sun, ranges like Mon-Fri, or daily)")  # fmt: skip
    return DAYS.index(key)


def _minutes(text: str, whole: str) -> int:
    found = _TIME.match(text)
    if found is None:
        raise HoursError(f'hours "{whole}": want HH:MM-HH:MM, e.g. 09:00-17:00')
    h, m = int(found[1]), int(found[2])
    if m > 59 or h > 24 or (h == 24 and m):
        raise HoursError(f'hours "{whole}": "{text}" is not a time of day (00:00 to 24:00)')
    return h * 60 + m


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f'unknown time zone "{name}" (want an IANA name like '
                         "Europe/Berlin or UTC)") from None  # fmt: skip


def _at(day: date, minutes: int, zone: tzinfo) -> datetime:
    """Wall-clock `minutes` after the midnight that starts `day` (may be the next day)."""
    extra, minutes = divmod(minutes, 1440)
    wall = datetime.combine(day + timedelta(days=extra), time(minutes // 60, minutes % 60))
    return wall.replace(tzinfo=zone)
