"""Outage notices (停气公告): what a notice is and when it plays. Pure.

When a gas main is shut for works or an incident, callers ring to ask the same thing.
A notice plays right after the greeting while its time window is open (and until an
admin ends it early); the menu goes on after it. A notice may be for some areas only:
the caller picks their area on a menu key and hears the notices of that area.

A caller who heard a notice and hung up without asking for anything more is
`ivr_completed` (the fold in `ivr.domain.outcomes`, event `notice_heard`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

MAX_TEXT = 500  # characters: a notice is a minute of speech, not a document
MAX_AREAS = 9


class NoticeInvalid(ValueError):
    """A notice that cannot be posted; the message says why."""


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    text: str | None  # spoken by the same TTS as the other prompts
    file: str | None  # or a recorded file (a path the service may read)
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC: the notice expires by itself then
    areas: tuple[str, ...] = ()  # menu keys of the areas it is for; () = everyone
    created_by: str = ""
    ended_at: datetime | None = None  # ended early by an admin

    @property
    def prompt(self) -> str:
        """The notice's prompt name (the sound file `notice-<id>`)."""
        return f"notice-{self.id}"

    def active_at(self, at: datetime) -> bool:
        if self.ended_at is not None and self.ended_at <= at:
            return False
        return self.starts_at <= at < self.ends_at

    def expired_at(self, at: datetime) -> bool:
        """Will never play again."""
        return at >= self.ends_at or (self.ended_at is not None and self.ended_at <= at)

    @property
    def until(self) -> datetime:
        """When it stops playing."""
        return min(self.ends_at, self.ended_at) if self.ended_at else self.ends_at


def active_notices(
    notices: Iterable[Notice], at: datetime, area: str | None = None
) -> list[Notice]:
    """The notices a caller hears at `at`, oldest first: those for everyone, and those for
    `area` when the caller chose one."""
    return sorted(
        (
            n for n in notices
            if n.active_at(at) and (not n.areas or (area is not None and area in n.areas))
        ),
        key=lambda n: (n.starts_at, n.id),
    )


def check_notice(
    text: str | None,
    file: str | None,
    starts_at: datetime,
    ends_at: datetime,
    areas: Iterable[str] = (),
) -> tuple[str | None, tuple[str, ...]]:
    """The notice's text (stripped) and areas, or `NoticeInvalid`."""
    if (text is None) == (file is None):
        raise NoticeInvalid("a notice has either a text (spoken) or a recorded file")
    if text is not None:
        text = text.strip()
        if not text:
            raise NoticeInvalid("the notice's text is empty")
        if len(text) > MAX_TEXT:
            raise NoticeInvalid(f"the notice's text is {len(text)} characters; at most {MAX_TEXT}")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise NoticeInvalid("the notice's window needs times with a time zone")
    if ends_at <= starts_at:
        raise NoticeInvalid("the notice must end after it starts")
    keys = tuple(dict.fromkeys(a.strip() for a in areas))
    if len(keys) > MAX_AREAS:
        raise NoticeInvalid(f"at most {MAX_AREAS} areas")
    bad = [k for k in keys if len(k) != 1 or k not in "0123456789"]
    if bad:
        raise NoticeInvalid(f"areas are menu keys 0-9, not {bad}")
    return text, keys
