"""Cron schedules (``training.schedule``): parse, validate, and find the due times around an instant.

An expression has the five standard fields ``minute hour day-of-month month day-of-week`` (``0 3 * * *``
= every day at 03:00, ``30 2 * * 1`` = Mondays at 02:30) or is one of the aliases ``@hourly``,
``@daily``/``@midnight``, ``@weekly``, ``@monthly``, ``@yearly``/``@annually``. Fields are read by
`croniter <https://github.com/pallets-eco/croniter>`_ in the schedule's IANA time zone (``zoneinfo``),
so ``0 3 * * *`` in ``Europe/Berlin`` stays at 03:00 local time across daylight-saving changes. Every
instant this module returns is timezone-aware UTC.

A sixth (seconds) field is refused: a schedule finer than a minute would retrain back to back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from shopmind.errors import ConfigError, Location

ALIASES = frozenset({"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"})
EXPECTED = (
    "five fields 'minute hour day-of-month month day-of-week' (e.g. '0 3 * * *' = daily at 03:00) "
    "or one of " + ", ".join(sorted(ALIASES))
)
MAX_LENGTH = 200
"""Longest expression accepted (a cron line is a few dozen characters)."""


@dataclass(frozen=True)
class CronSchedule:
    """A validated cron expression in a time zone; construction raises :class:`ConfigError`."""

    expression: str
    timezone: str = "UTC"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        text = " ".join(str(self.expression).split())
        where = Location(field="training.schedule")
        if not text or len(text) > MAX_LENGTH:
            raise ConfigError(
                "empty or overlong cron expression", value=text[:80], expected=EXPECTED, location=where
            )
        if text.startswith("@"):
            if text.lower() not in ALIASES:
                raise ConfigError("unknown cron alias", value=text, expected=EXPECTED, location=where)
            text = text.lower()
        elif len(text.split(" ")) != 5:
            raise ConfigError(
                f"a cron expression has 5 fields, this one has {len(text.split(' '))}",
                value=text,
                expected=EXPECTED,
                location=where,
            )
        try:
            zone = ZoneInfo(str(self.timezone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                "unknown time zone",
                value=self.timezone,
                expected="an IANA time zone name such as 'UTC' or 'Europe/Berlin'",
                location=Location(field="training.schedule_timezone"),
            ) from exc
        try:
            croniter(text, datetime(2000, 1, 1, tzinfo=zone)).get_next(datetime)
        except (CroniterError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"not a valid cron expression: {exc}", value=text, expected=EXPECTED, location=where
            ) from exc
        object.__setattr__(self, "expression", text)
        object.__setattr__(self, "_zone", zone)

    def _iter(self, start: datetime) -> croniter:
        return croniter(self.expression, _aware(start).astimezone(self._zone))

    def next_after(self, instant: datetime) -> datetime:
        """The first due time strictly after ``instant`` (UTC)."""
        return _utc(self._iter(instant).get_next(datetime))

    def last_at_or_before(self, instant: datetime) -> datetime:
        """The latest due time at or before ``instant`` (UTC)."""
        instant = _aware(instant)
        # croniter's get_prev is strictly before its start: start one second later to include ``instant``
        return _utc(self._iter(instant + timedelta(seconds=1)).get_prev(datetime))

    def period_at(self, instant: datetime) -> timedelta:
        """Length of the schedule's period around ``instant``: from the last due time at or before it
        to the next one after it (a day for ``@daily``; for ``0 3 * * 1-5`` three days over a weekend)."""
        last = self.last_at_or_before(instant)
        return self.next_after(last) - last

    def to_dict(self) -> dict[str, str]:
        return {"cron": self.expression, "timezone": self.timezone}


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _utc(instant: datetime) -> datetime:
    return _aware(instant).astimezone(UTC)
