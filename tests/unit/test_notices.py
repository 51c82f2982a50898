"""Outage notices (停气公告): when a notice plays, what a valid one is, the fold rule that
makes a caller who hung up after one `ivr_completed`, the store (hearings counted from
the journal), the API's roles, and the fallback dialplan that plays them in their window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.asterisk.render import NoticeSound, write_notices_dialplan
from ivr.auth.roles import Role
from ivr.domain.events import EventKind
from ivr.domain.notices import Notice, NoticeInvalid, active_notices, check_notice
from ivr.domain.record import AbandonPlace, Outcome
from ivr.notices.service import NoticesService
from ivr.notices.store import Hearing, NoticeStore
from tests.unit.test_api_support import NOW, Harness, harness
from tests.unit.test_outcomes import CallScript, folded

T = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


def notice(id: int, start: float, end: float, areas: tuple[str, ...] = (),
           ended: float | None = None) -> Notice:
    return Notice(
        id, f"notice {id}", None, T + timedelta(hours=start), T + timedelta(hours=end), areas,
        ended_at=None if ended is None else T + timedelta(hours=ended),
    )


# -- when a notice plays --------------------------------------------------------------


def test_a_notice_plays_in_its_window_until_ended() -> None:
    n = notice(1, 0, 4, ended=2)
    assert not n.active_at(T - timedelta(seconds=1))
    assert n.active_at(T) and n.active_at(T + timedelta(hours=1.99))
    assert not n.active_at(T + timedelta(hours=2))  # ended early
    assert notice(2, 0, 4).active_at(T + timedelta(hours=3.9))
    assert not notice(2, 0, 4).active_at(T + timedelta(hours=4))  # expired by itself
    assert n.until == T + timedelta(hours=2)


def test_area_notices_play_only_to_callers_of_their_area_oldest_first() -> None:
    everyone, east, later = notice(1, 0, 4), notice(2, -1, 4, ("1",)), notice(3, 1, 4)
    at = T + timedelta(hours=2)
    assert active_notices([later, east, everyone], at) == [everyone, later]
    assert active_notices([later, east, everyone], at, area="1") == [east, everyone, later]
    assert active_notices([later, east, everyone], at, area="2") == [everyone, later]


@pytest.mark.parametrize(
    ("text", "file", "hours", "areas", "why"),
    [
        (None, None, 1, (), "either a text"),
        ("x", "/a.wav", 1, (), "either a text"),
        ("  ", None, 1, (), "empty"),
        ("x" * 501, None, 1, (), "at most 500"),
        ("x", None, 0, (), "end after it starts"),
        ("x", None, 1, ("12",), "menu keys"),
        ("x", None, 1, ("a",), "menu keys"),
    ],
)
def test_a_bad_notice_is_refused_with_the_reason(
    text: str | None, file: str | None, hours: float, areas: tuple[str, ...], why: str
) -> None:
    with pytest.raises(NoticeInvalid, match=why):
        check_notice(text, file, T, T + timedelta(hours=hours), areas)


def test_a_good_notice_is_stripped_and_its_areas_deduplicated() -> None:
    assert check_notice(" 停气 ", None, T, T + timedelta(hours=1), ["1", "1", "3"]) == (
        "停气", ("1", "3")
    )


# -- the fold: a notice answers the call like an announcement -------------------------------


def heard_notice() -> CallScript:
    call = CallScript().arrives()
    call.at(0.2, EventKind.prompt_played, "ari", line="main", prompt="greeting,notice-7")
    call.at(9.0, EventKind.notice_heard, "ari", line="main", notice=7)
    call.at(9.1, EventKind.prompt_played, "ari", line="main", prompt="menu")
    return call


def test_hanging_up_in_the_menu_after_a_notice_is_ivr_completed() -> None:
    call = heard_notice().at(12.0, EventKind.caller_hung_up, "ari", place="menu")
    record = folded(call.ends(12.0))
    assert record.outcome is Outcome.ivr_completed
    assert record.abandon_place is None and not record.callback_needed
    assert not record.counts_as.human_requested


def test_a_caller_who_still_asked_for_a_person_after_a_notice_is_judged_as_usual() -> None:
    call = heard_notice()
    call.at(14.0, EventKind.menu_choice, "ari", key="2", service="repair", attempt=1)
    call.asks_for_person(at=14.1)
    call.at(40.0, EventKind.queue_abandoned, position=1, wait_seconds=24)
    record = folded(call.ends(40.0))
    assert record.outcome is Outcome.abandoned and record.abandon_place is AbandonPlace.queue
    assert record.callback_needed


def test_hanging_up_during_the_notice_is_abandoned() -> None:
    call = CallScript().arrives()
    call.at(0.2, EventKind.prompt_played, "ari", line="main", prompt="greeting,notice-7")
    call.at(3.0, EventKind.caller_hung_up, "ari", place="ivr")
    assert folded(call.ends(3.0)).outcome is Outcome.abandoned


def test_a_notice_heard_in_the_dialplans_fallback_counts_the_same() -> None:
    call = CallScript().arrives().at(0.1, EventKind.controller_absent, line="main")
    call.at(8.0, EventKind.notice_heard, line="main", notice="7")
    assert folded(call.ends(8.5)).outcome is Outcome.ivr_completed


# -- the store and the service -----------------------------------------------------------


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, scripts=[]) as h:
        yield h


async def test_the_store_keeps_notices_and_counts_who_heard_them(api: Harness) -> None:
    published: list[list[int]] = []

    async def publish(notices: list[Notice]) -> None:
        published.append([n.id for n in notices])

    service = NoticesService(NoticeStore(api.store.engine), lambda: NOW, publish=publish)
    first = await service.add(text="东区停气", file=None, starts_at=None, ends_at=None,
                              hours=2, by="alice")
    second = await service.add(text="西区停气", file=None, starts_at=NOW + timedelta(hours=1),
                               ends_at=NOW + timedelta(hours=3), areas=["2"], by="alice")
    assert published == [[first.id], [first.id, second.id]]
    assert not await service.refresh()  # nothing changed: nothing published
    with pytest.raises(NoticeInvalid, match="ended already"):
        await service.add(text="x", file=None, starts_at=NOW - timedelta(hours=3),
                          ends_at=NOW - timedelta(hours=1), by="alice")
    with pytest.raises(NoticeInvalid, match="outside"):
        await service.add(text=None, file="/etc/passwd", starts_at=None, ends_at=None,
                          hours=1, by="alice")

    done = CallScript("c-done", start=NOW).arrives()
    done.at(9.0, EventKind.notice_heard, "ari", line="main", notice=first.id)
    done.at(12.0, EventKind.caller_hung_up, "ari", place="menu").ends(12.0)
    asked = CallScript("c-asked", start=NOW).arrives()
    asked.at(9.0, EventKind.notice_heard, "ari", line="main", notice=first.id)
    asked.asks_for_person(at=12.0).ends(30.0)
    await api.store.ingest([*done.events, *asked.events])
    assert await service.hearings(NOW - timedelta(hours=1)) == {first.id: Hearing(2, 1)}

    ended = await service.end(first.id)
    assert ended.ended_at == NOW and published[-1] == [second.id]
    assert [n.id for n in await service.find()] == [second.id]
    assert [n.id for n in await service.find(include_expired=True)] == [first.id, second.id]


async def test_admins_post_and_end_notices_viewers_list_them(api: Harness) -> None:
    body = {"text": "东区燃气管道施工，今天停气至18点", "hours": 4}
    assert (await api.post("/api/notices", Role.supervisor, json=body)).status_code == 403
    posted = await api.post("/api/notices", Role.admin, json=body)
    assert posted.status_code == 201, posted.text
    notice = posted.json()
    assert notice["active"] and notice["created_by"] == "test-admin"
    listed = (await api.get("/api/notices", Role.viewer)).json()["notices"]
    assert [n["id"] for n in listed] == [notice["id"]]
    assert listed[0]["calls_heard"] == 0
    bad = await api.post("/api/notices", Role.admin, json={"text": "x"})
    assert bad.status_code == 422 and "hours" in bad.json()["detail"]
    assert (await api.post("/api/notices/999/end", Role.admin)).status_code == 404
    assert (await api.post(f"/api/notices/{notice['id']}/end", Role.viewer)).status_code == 403
    ended = await api.post(f"/api/notices/{notice['id']}/end", Role.admin)
    assert ended.status_code == 200 and not ended.json()["active"]
    assert (await api.get("/api/notices", Role.viewer)).json()["notices"] == []
    assert len((await api.get("/api/notices?all=true", Role.viewer)).json()["notices"]) == 1


# -- the fallback dialplan -------------------------------------------------------------------


def test_the_fallback_plays_each_notice_in_its_own_window(tmp_path: Path) -> None:
    from ivr.asterisk.instance import Instance
    from ivr.asterisk.sandbox import AsteriskInstall

    instance = Instance.external(tmp_path / "ast")
    assert isinstance(instance.install, AsteriskInstall)
    path = write_notices_dialplan(instance, [
        NoticeSound(7, Path("/sounds/notice-7"), 1000, 2000),
    ])
    text = path.read_text()
    assert "[hotline-notices]" in text
    assert "GotoIf($[${EPOCH} < 1000 | ${EPOCH} >= 2000]?past7)" in text
    assert "Playback(/sounds/notice-7)" in text
    assert "Kind: notice_heard,Line: ${HOTLINE_LINE},Notice: 7" in text
    assert text.rstrip().endswith("same => n,Return()")
    empty = write_notices_dialplan(instance, []).read_text()
    assert "Playback" not in empty and "Return()" in empty


def test_the_area_prompt_is_made_from_the_configured_areas() -> None:
    from ivr.config import ConfigError, parse_config
    from ivr.prompts import AREA_PROMPT, PromptRenderer
    from tests.unit.test_api_support import EXAMPLE

    text = EXAMPLE.read_text(encoding="utf-8")
    assert parse_config(text).notices.area_prompt is None  # no areas: no prompt
    config = parse_config(text + '\n[notices]\nareas = { "2" = "西区", "1" = "东区" }\n')
    texts = PromptRenderer(config, Path("/nowhere")).texts()
    assert texts[AREA_PROMPT] == "查询您所在区域的停气通知，东区请按1，西区请按2。"
    with pytest.raises(ConfigError):
        parse_config(text + '\n[notices]\nareas = { "0" = "东区" }\n')


async def test_a_notice_expires_by_itself_and_is_published_away(api: Harness) -> None:
    published: list[list[int]] = []
    now = [NOW]

    async def publish(notices: list[Notice]) -> None:
        published.append([n.id for n in notices])

    service = NoticesService(NoticeStore(api.store.engine), lambda: now[0], publish=publish)
    posted = await service.add(text="停气", file=None, starts_at=None, ends_at=None, hours=1,
                               by="alice")
    now[0] = NOW + timedelta(minutes=59)
    assert not await service.refresh()
    now[0] = NOW + timedelta(hours=1)  # its end: nobody ended it, it is gone
    assert await service.refresh()
    assert published == [[posted.id], []]
    assert service.current == []


async def test_a_failed_publication_keeps_the_notice_and_is_retried(api: Harness) -> None:
    attempts: list[list[int]] = []

    async def publish(notices: list[Notice]) -> None:
        attempts.append([n.id for n in notices])
        if len(attempts) == 1:
            raise RuntimeError("Asterisk is away")

    service = NoticesService(NoticeStore(api.store.engine), lambda: NOW, publish=publish)
    posted = await service.add(text="停气", file=None, starts_at=None, ends_at=None, hours=1,
                               by="alice")  # stored, though not yet published
    assert service.current == [] and [n.id for n in await service.find()] == [posted.id]
    assert await service.refresh()  # the periodic refresh tries again
    assert attempts == [[posted.id], [posted.id]] and service.current == [posted]
