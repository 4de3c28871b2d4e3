"""The platform's one clock: every stored stamp is a moment of this clock, never a caller's.

Stored times (record time, the knowledge clock, audit time, certificate and report issue time,
the time of a decision, a filing or a notice) order what the platform knew and did. A stamp ahead
of the real clock would make every later write look older than it, and checks made until then
would miss what was written meanwhile; a stamp in the past would rewrite what the platform knew
then, and a replay of an earlier check would find what it could not have found. So stamps come
from `CLOCK.now()` only. A moment a caller gives (`--now` of a command, a service's `now`) is the
moment a decision is *evaluated at* (`as_of`): it may lie in the past and is refused when it lies
ahead (`admit`); it is never stored as the time something happened.

`Clock.now()` is the real time unless a test or a replay set it, and it can only be set to the
past (`set_to`); `CLOCK` is the process's one instance.
"""

from __future__ import annotations

from datetime import UTC, datetime

from xinyong.domain.errors import InvalidInput


class Clock:
    """The real clock, which a test or a replay may hold at a moment of the past."""

    def __init__(self) -> None:
        self._held: datetime | None = None

    @staticmethod
    def real() -> datetime:
        return datetime.now(UTC)

    def now(self) -> datetime:
        return self._held if self._held is not None else self.real()

    def set_to(self, moment: datetime | None) -> None:
        """Hold the clock at `moment` (None: let it run); only a moment of the past.

        Raises:
            InvalidInput: `moment` is naive or ahead of the real clock."""
        if moment is not None:
            self.admit(moment, "the clock")
        self._held = moment

    def admit(self, moment: datetime, what: str) -> datetime:
        """`moment`, if it is not ahead of the real clock: a write may act at it.

        Raises:
            InvalidInput: naive, or ahead of the real clock (saying what and by how much)."""
        if moment.tzinfo is None:
            raise InvalidInput(f"{what} {moment.isoformat()} has no time zone; give one, e.g. +00:00")
        real = self.real()
        if moment > real:
            raise InvalidInput(
                f"{what} {moment.astimezone(UTC).isoformat()} is ahead of the clock "
                f"({real.isoformat(timespec='seconds')}): a write is stamped with the real time, "
                "and may act only at a moment that has passed"
            )
        return moment

    def as_of(self, moment: datetime | None, what: str = "the moment") -> datetime:
        """The moment a decision is evaluated at: `moment` if it has passed (`admit`), else now.
        Never a stamp: what is stored is stamped with `now()`."""
        return self.now() if moment is None else self.admit(moment, what)


CLOCK = Clock()
