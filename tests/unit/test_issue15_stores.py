"""The stores of notices, recordings (listens, quality scores) and spot checks on SQLite
and, with HOTLINE_TEST_DATABASE_URL set, on PostgreSQL: what goes in comes out, times in
UTC, JSON columns intact, the hearings query joins the journal's calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr.domain.events import EventKind
from ivr.domain.quality import ScoredCall, Scores
from ivr.domain.spotcheck import Dial, DialResult
from ivr.journal.store import Store
from ivr.notices.store import Hearing, NoticeStore
from ivr.recording.store import Listen, RecordingStore
from ivr.spotchecks.store import SpotCheck, SpotCheckStore
from tests.unit.test_journal_store import database, store  # noqa: F401 (fixtures)
from tests.unit.test_outcomes import CallScript

T = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


async def test_notices_round_trip_and_hearings(store: Store) -> None:  # noqa: F811
    notices = NoticeStore(store.engine)
    posted = await notices.add(text="停气", file=None, starts_at=T, ends_at=T + timedelta(hours=2),
                               areas=("1", "3"), by="alice", now=T)
    assert posted.areas == ("1", "3") and posted.starts_at == T and posted.ended_at is None
    heard = CallScript("c-heard", start=T).arrives()
    heard.at(5.0, EventKind.notice_heard, "ari", line="main", notice=posted.id)
    heard.asks_for_person(at=8.0).ends(20.0)
    await store.ingest(heard.events)
    assert await notices.hearings(T - timedelta(hours=1)) == {posted.id: Hearing(1, 1)}
    ended = await notices.end(posted.id, T + timedelta(minutes=30))
    assert ended.until == T + timedelta(minutes=30)
    assert await notices.find(now=T + timedelta(minutes=10)) == []
    assert [n.id for n in await notices.find(now=T, include_expired=True)] == [posted.id]


async def test_listens_and_scores_round_trip(store: Store) -> None:  # noqa: F811
    recordings = RecordingStore(store.engine)
    await recordings.add_listen(Listen("c-1", T, "bob", "supervisor", "bytes=0-99"))
    await recordings.add_listen(Listen("c-2", T + timedelta(seconds=1), "amy", "admin", "all"))
    assert [x.linkedid for x in await recordings.listens()] == ["c-2", "c-1"]
    assert (await recordings.listens(linkedid="c-1"))[0].at == T
    call = ScoredCall("c-1", "agent1", T, Scores(18, 15, 17, 12))
    stored = await recordings.add_score(call, by="bob", at=T, remarks="好")
    found = await recordings.scores(since=T - timedelta(days=1), until=T + timedelta(days=1))
    assert [s.id for s in found] == [stored.id] and found[0].call == call
    assert found[0].remarks == "好"


async def test_spot_checks_round_trip(store: Store) -> None:  # noqa: F811
    checks = SpotCheckStore(store.engine)
    dials = (Dial(T, DialResult.busy), Dial(T + timedelta(minutes=3), DialResult.ivr))
    added = await checks.add(SpotCheck(0, "2026Q4", "prober", "probe", T, dials, 16, None, "x"))
    assert added.id > 0
    (back,) = await checks.of_quarter("2026Q4")
    assert back.dials == dials and back.connection_score == 16 and back.checked_at == T
    assert await checks.of_quarter("2026Q3") == []
