"""The platform's one clock: every stored stamp is a moment of the real clock, never ahead of it.

Stored times (record time, the knowledge clock, audit time, certificate issue time) order what
the platform knew and did; a stamp ahead of the real clock would make every later write look
older than it, and checks made until then would miss what was written meanwhile. So a moment
given to a write (`--now` of a command, a replay of the demo's history) may lie in the past, to
evaluate a decision as of then, and is refused when it lies ahead (`admit`).

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


CLOCK = Clock()
