"""What the notices capability does, for the API, the CLI and the running service alike:
post a notice (checked), end one, list them; and keep what plays in step with the store
(`refresh`, every few seconds while the service runs): a notice posted by the CLI into
the database, one ended, and one whose window closed all reach the call flow and the
dialplan's fallback the same way (`publish`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from ivr.domain.notices import Notice, NoticeInvalid, check_notice
from ivr.notices.store import Hearing, NoticeStore
from ivr.prompt_files import check_sound_file

log = structlog.get_logger(__name__)

REFRESH_SECONDS = 5.0
Publish = Callable[[list[Notice]], Awaitable[None]]


class NoticesService:
    def __init__(
        self,
        store: NoticeStore,
        now: Callable[[], datetime],
        *,
        sound_dirs: Callable[[], list[Path]] = list,
        publish: Publish | None = None,
    ) -> None:
        self.store = store
        self.now = now
        self.sound_dirs = sound_dirs  # where a notice's recorded file may lie
        self.publish = publish
        self.current: list[Notice] = []  # what plays (or will), as last published
        self._lock = asyncio.Lock()

    async def add(
        self,
        *,
        text: str | None,
        file: str | None,
        starts_at: datetime | None,
        ends_at: datetime | None,
        hours: float | None = None,
        areas: Iterable[str] = (),
        by: str,
    ) -> Notice:
        """Post a notice: from `starts_at` (default now) to `ends_at`, or for `hours`."""
        now = self.now()
        start = starts_at or now
        if ends_at is None:
            if hours is None or hours <= 0:
                raise NoticeInvalid("a notice needs an end time or a number of hours")
            ends_at = start + timedelta(hours=hours)
        text, keys = check_notice(text, file, start, ends_at, areas)
        if file is not None:
            problem = await check_sound_file(Path(file), self.sound_dirs())
            if problem:
                raise NoticeInvalid(f"file: {problem}")
            file = str(Path(file).resolve())
        if ends_at <= now:
            raise NoticeInvalid("the notice would have ended already")
        notice = await self.store.add(
            text=text, file=file, starts_at=start, ends_at=ends_at, areas=keys, by=by, now=now
        )
        await self._publish_soon()
        return notice

    async def end(self, notice_id: int) -> Notice:
        notice = await self.store.end(notice_id, self.now())
        await self._publish_soon()
        return notice

    async def find(self, include_expired: bool = False) -> list[Notice]:
        return await self.store.find(now=self.now(), include_expired=include_expired)

    async def hearings(self, since: datetime) -> dict[int, Hearing]:
        return await self.store.hearings(since)

    async def load(self) -> list[Notice]:
        """What may play now, from the store (at start-up, before Asterisk is rendered)."""
        self.current = await self.store.find(now=self.now())
        return self.current

    async def refresh(self) -> bool:
        """Publish the notices again if what may play has changed; True if it did."""
        async with self._lock:
            notices = await self.store.find(now=self.now())
            if notices == self.current:
                return False
            if self.publish is not None:  # the running service (the CLI only writes)
                await self.publish(notices)
                log.info("notices.published", notices=[n.id for n in notices])
            self.current = notices  # only once published: a failure is retried next time
            return True

    async def _publish_soon(self) -> None:
        """After a change made here: publish now; if that fails (a prompt that cannot be
        made, Asterisk away), the periodic refresh tries again."""
        try:
            await self.refresh()
        except Exception:
            log.exception("notices.publish_failed")

    async def run(self, every: float = REFRESH_SECONDS) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except Exception:  # the database or a prompt away: try again next time
                log.exception("notices.refresh_failed")
