"""What the spot-check capability does, for the API, the CLI and the prober: record a
checker's check (a person's dials as they entered them, or the prober's), score it by
the rule, and give a quarter's score (the average of three or more checkers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo

from ivr.domain.spotcheck import (
    REDIAL_INTERVAL,
    Dial,
    QuarterScore,
    SpotCheckInvalid,
    quarter_of,
    quarter_score,
    score_dials,
)
from ivr.spotchecks.store import SpotCheck, SpotCheckStore

MAX_LISTENED = 80


class SpotChecksService:
    def __init__(
        self,
        store: SpotCheckStore,
        zone: Callable[[], tzinfo],
        now: Callable[[], datetime],
        interval: Callable[[], timedelta] = lambda: REDIAL_INTERVAL,
    ) -> None:
        self.store = store
        self.zone = zone
        self.now = now
        self.interval = interval  # the redial rule's interval (3 minutes; shorter in tests)

    async def record(
        self,
        checker: str,
        dials: Sequence[Dial],
        *,
        kind: str = "person",
        listened_score: int | None = None,
        notes: str = "",
    ) -> SpotCheck:
        if not checker.strip():
            raise SpotCheckInvalid("a check needs its checker's name")
        if listened_score is not None and not 0 <= listened_score <= MAX_LISTENED:
            raise SpotCheckInvalid(f"the listened score is 0-{MAX_LISTENED}")
        if any(d.at.tzinfo is None for d in dials):
            raise SpotCheckInvalid("dial times need a time zone")
        if any(d.at > self.now() + timedelta(minutes=5) for d in dials):
            raise SpotCheckInvalid("a dial in the future")
        interval = self.interval() if kind == "probe" else REDIAL_INTERVAL
        points = score_dials(list(dials), interval)
        first = dials[0].at
        check = SpotCheck(
            0, quarter_of(first, self.zone()), checker.strip(), kind, first, tuple(dials),
            points, listened_score, notes,
        )  # fmt: skip
        return await self.store.add(check)

    async def checks(self, quarter: str | None = None) -> list[SpotCheck]:
        return await self.store.of_quarter(quarter)

    def current_quarter(self) -> str:
        return quarter_of(self.now(), self.zone())

    async def quarter(self, quarter: str | None = None) -> QuarterScore:
        quarter = quarter or self.current_quarter()
        found = await self.store.of_quarter(quarter)
        return quarter_score(quarter, [(c.checker, c.connection_score) for c in found])

    async def latest_by_checker(self) -> dict[tuple[str, str], SpotCheck]:
        """The current quarter's latest check of each checker (by checker and kind)."""
        latest: dict[tuple[str, str], SpotCheck] = {}
        for check in await self.store.of_quarter(self.current_quarter()):
            latest[(check.checker, check.kind)] = check
        return latest
