"""The routing policy: what a call should do next, asked of the domain. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ivr.config import HotlineConfig, OnCall
from ivr.domain.vocabulary import Service


@dataclass(frozen=True)
class MenuAnswer:
    """The outcome of one menu prompt."""

    service: Service | None  # None: ask again
    invalid: bool = False
    timed_out: bool = False


class RoutingPolicy:
    def __init__(self, config: HotlineConfig) -> None:
        self.config = config
        self.schedule = config.schedule
        self._open_in: tuple[datetime, bool] | None = None  # the last minute asked

    def in_service_hours(self, at: datetime) -> bool:
        """Whether consultation is open at `at`. Hours are whole minutes and holidays
        whole days, so the answer holds for the minute: asked once a minute, not once a
        call (it decides which prompt a caller hears first)."""
        minute = at.replace(second=0, microsecond=0)
        if self._open_in is not None and self._open_in[0] == minute:
            return self._open_in[1]
        is_open = self.schedule.is_open(Service.consultation, minute)
        self._open_in = (minute, is_open)
        return is_open

    def read_menu_key(self, digit: str | None) -> MenuAnswer:
        if digit is None:
            return MenuAnswer(None, timed_out=True)
        service = self.config.menu.keys.get(digit)
        return MenuAnswer(service) if service else MenuAnswer(None, invalid=True)

    @property
    def menu_attempts(self) -> int:
        return self.config.menu.retries + 1

    @property
    def menu_default(self) -> Service:
        """After the last try: a person (in hours), never a hang-up without a route."""
        return self.config.menu.default

    def is_announcement(self, digit: str | None) -> bool:
        return digit is not None and digit == self.config.menu.announcement_key

    def is_night_transfer(self, digit: str | None) -> bool:
        if digit is None:
            return False
        service = self.config.menu.keys.get(digit)
        return service is not None and service in self.config.hotline.night_transfer

    def oncall_chain(self, at: datetime) -> list[OnCall]:
        chain = self.schedule.oncall_chain(at)
        # Nobody rostered for this minute (a compliance error): ring everyone rather than no one.
        return chain or list(self.config.oncall)
