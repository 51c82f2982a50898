"""Callback tasks (R7): one per call that needs one, emergencies first; a task fails
only after failed attempts on two different *local* days (tested across a month
boundary), is done when the customer is reached; the monthly callback rate counts the
tasks closed in the local month."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.ari.client import AriError
from ivr.callbacks.domain import (
    Attempt,
    AttemptRefused,
    AttemptResult,
    CallbackMonth,
    CallbackTask,
    Priority,
    Reason,
    TaskClosed,
    TaskStatus,
    month_bounds,
    task_for_call,
)
from ivr.callbacks.originate import CALLBACK_CONTEXT, AriOriginator, OriginateError
from ivr.callbacks.service import CallbackRefused, CallbacksService, TaskNotFound
from ivr.callbacks.store import CallbackStore
from ivr.clock import FixedClock
from ivr.domain.events import EventKind
from ivr.domain.outcomes import fold
from ivr.journal.store import Store
from tests.unit.test_api_support import (
    LANDLINE,
    MOBILE,
    FakeOriginator,
    Script,
    a_day,
    abandoned,
    answered,
    emergency_failed,
    voicemail,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC_ZONE = ZoneInfo("UTC")
ARRIVED = datetime(2026, 11, 30, 12, 0, tzinfo=SHANGHAI)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def a_task(**changes: Any) -> CallbackTask:
    fields: dict[str, Any] = {
        "linkedid": "c1",
        "created_at": ARRIVED,
        "arrived_at": ARRIVED,
        "line": "main",
        "caller": MOBILE,
        "service": "complaint",
        "reason": Reason.abandoned,
        "priority": Priority.normal,
        "due_at": ARRIVED + timedelta(hours=48),
    }
    fields.update(changes)
    return CallbackTask(**fields)


def failed(at: datetime, result: AttemptResult = AttemptResult.no_answer) -> Attempt:
    return Attempt(at, result, "alice")


# -- the two-days rule ---------------------------------------------------------------


def test_failures_at_2350_on_30_november_and_0010_on_1_december_are_two_days() -> None:
    first, second = local(2026, 11, 30, 23, 50), local(2026, 12, 1, 0, 10)
    # the same UTC date: only the local dates differ
    assert first.astimezone(UTC).date() == second.astimezone(UTC).date()
    task = a_task().record(failed(first), SHANGHAI)
    assert task.status is TaskStatus.open
    task = task.record(failed(second, AttemptResult.busy), SHANGHAI)
    assert task.status is TaskStatus.failed
    assert task.closed_at == second
    assert [d.isoformat() for d in task.failed_days(SHANGHAI)] == ["2026-11-30", "2026-12-01"]


def test_two_failures_on_the_same_local_day_leave_the_task_open() -> None:
    # 07:50 and 08:10 in Shanghai are two UTC dates, but one local day
    first, second = local(2026, 12, 1, 7, 50), local(2026, 12, 1, 8, 10)
    assert first.astimezone(UTC).date() != second.astimezone(UTC).date()
    task = a_task().record(failed(first), SHANGHAI).record(failed(second), SHANGHAI)
    assert task.status is TaskStatus.open and task.closed_at is None
    task = task.record(failed(local(2026, 12, 1, 17, 0), AttemptResult.unreachable), SHANGHAI)
    assert task.status is TaskStatus.open
    task = task.record(failed(local(2026, 12, 2, 9, 0)), SHANGHAI)
    assert task.status is TaskStatus.failed


def test_the_days_are_the_hotline_zones_days() -> None:
    first, second = local(2026, 11, 30, 23, 50), local(2026, 12, 1, 0, 10)
    in_utc = a_task().record(failed(first), UTC_ZONE).record(failed(second), UTC_ZONE)
    assert in_utc.status is TaskStatus.open  # the same day in UTC


def test_every_r7_reason_counts_as_a_failed_attempt() -> None:
    for result in AttemptResult:
        assert result.failed is (result is not AttemptResult.reached)


def test_reaching_the_customer_closes_the_task_done() -> None:
    task = a_task().record(failed(local(2026, 11, 30, 18, 0)), SHANGHAI)
    task = task.record(Attempt(local(2026, 11, 30, 19, 0), AttemptResult.reached), SHANGHAI)
    assert task.status is TaskStatus.done and task.closed_at == local(2026, 11, 30, 19, 0)
    with pytest.raises(TaskClosed, match="already done"):
        task.record(failed(local(2026, 12, 2, 9, 0)), SHANGHAI)
    with pytest.raises(TaskClosed):
        task.dismiss(local(2026, 12, 2, 9, 0), "late")


def test_attempts_recorded_late_and_out_of_order_close_at_the_second_day() -> None:
    later, earlier = local(2026, 12, 2, 10, 0), local(2026, 12, 1, 10, 0)
    task = a_task().record(failed(later), SHANGHAI).record(failed(earlier), SHANGHAI)
    assert task.status is TaskStatus.failed and task.closed_at == later
    assert [a.at for a in task.attempts] == [earlier, later]


def test_an_attempt_before_the_call_is_refused() -> None:
    with pytest.raises(AttemptRefused, match="before the call arrived"):
        a_task().record(failed(ARRIVED - timedelta(minutes=1)), SHANGHAI)


def test_a_dismissed_task_is_closed_with_its_reason() -> None:
    task = a_task().dismiss(local(2026, 12, 1, 9, 0), "customer called again and was served")
    assert task.status is TaskStatus.dismissed and task.status.closed
    assert task.close_note.startswith("customer called again")


def test_overdue_only_while_open() -> None:
    task = a_task(due_at=ARRIVED + timedelta(hours=1))
    assert not task.overdue(ARRIVED + timedelta(minutes=59))
    assert task.overdue(ARRIVED + timedelta(hours=2))
    done = task.record(Attempt(ARRIVED, AttemptResult.reached), SHANGHAI)
    assert not done.overdue(ARRIVED + timedelta(hours=2))


# -- tasks from call records -----------------------------------------------------------


def test_which_calls_become_which_tasks() -> None:
    now = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    records = {script.linkedid: fold(script.events) for script in a_day()}
    tasks = {linkedid: task_for_call(record, now) for linkedid, record in records.items()}
    assert {k for k, t in tasks.items() if t} == {
        "c-voicemail", "c-abandoned", "c-emergency", "c-anonymous"
    }
    emergency = tasks["c-emergency"]
    assert emergency is not None
    assert (emergency.reason, emergency.priority) == (Reason.emergency_failed, Priority.emergency)
    assert emergency.due_at == records["c-emergency"].arrived_at + timedelta(hours=1)
    assert emergency.caller == LANDLINE
    vm = tasks["c-voicemail"]
    assert vm is not None and (vm.reason, vm.priority) == (Reason.voicemail, Priority.normal)
    gone = tasks["c-abandoned"]
    assert gone is not None and gone.reason is Reason.abandoned
    anonymous = tasks["c-anonymous"]
    assert anonymous is not None and anonymous.status is TaskStatus.dismissed
    assert "anonymous" in anonymous.close_note


def test_an_urgent_voicemail_and_a_repair_get_their_priorities() -> None:
    now = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    urgent = task_for_call(fold(voicemail("v", urgent=True).events), now)
    repair = task_for_call(fold(abandoned("r", service="repair").events), now)
    assert urgent is not None and urgent.priority is Priority.emergency
    assert repair is not None and repair.priority is Priority.repair


def test_month_bounds_are_local() -> None:
    start, end = month_bounds(2026, 12, SHANGHAI)
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        month_bounds(2026, 13, SHANGHAI)


def test_the_callback_rate_of_a_month() -> None:
    month = CallbackMonth(2026, 11, done=6, failed=2, dismissed=2)
    assert (month.closed, month.called_back, month.rate, month.reached_rate) == (10, 8, 0.8, 0.6)
    assert CallbackMonth(2026, 11).rate is None


# -- store and service ---------------------------------------------------------------


class Fixture:
    def __init__(self, store: Store, clock: FixedClock) -> None:
        self.journal = store
        self.clock = clock
        self.service = CallbacksService(CallbackStore(store.engine), lambda: SHANGHAI, clock)

    async def ingest(self, *scripts: Script) -> None:
        for script in scripts:
            await self.journal.ingest(script.events)


@pytest.fixture
async def fx(tmp_path: Path) -> AsyncIterator[Fixture]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3",
                  line_modes={"main": "ivr", "legacy": "manual"})
    await store.migrate()
    yield Fixture(store, FixedClock(local(2026, 12, 3, 12, 0)))
    await store.close()


async def test_sync_creates_each_missing_task_once(fx: Fixture) -> None:
    await fx.ingest(*a_day())
    first = await fx.service.sync()
    assert (first.created, first.dismissed) == (4, 0)
    again = await fx.service.sync()
    assert (again.created, again.dismissed) == (0, 0)
    await fx.ingest(voicemail("c-later", start=local(2026, 11, 30, 9, 0)))
    assert (await fx.service.sync()).created == 1
    open_tasks = await fx.service.tasks()
    assert len(open_tasks) == 4  # the anonymous caller's task is dismissed


async def test_sync_goes_through_more_calls_than_one_batch(fx: Fixture) -> None:
    start = local(2026, 11, 2, 8, 0)
    events = [e for n in range(501)
              for e in voicemail(f"v{n:03d}", start=start + timedelta(minutes=n)).events]
    await fx.journal.ingest(events)
    assert (await fx.service.sync()).created == 501
    assert fx.service.owed()["normal"] == 501


async def test_a_call_still_in_progress_gets_no_task_yet(fx: Fixture) -> None:
    script = abandoned("c-slow")
    script.events = [e for e in script.events if e.kind is not EventKind.call_ended]
    await fx.ingest(script)
    assert (await fx.service.sync()).created == 0


async def test_tasks_come_emergency_first_then_oldest_first(fx: Fixture) -> None:
    t = local(2026, 11, 30, 8, 0)
    await fx.ingest(
        voicemail("old-vm", start=t),
        abandoned("young-repair", start=t + timedelta(hours=3), service="repair"),
        abandoned("old-repair", start=t + timedelta(hours=1), service="repair"),
        emergency_failed("young-emergency", start=t + timedelta(hours=5)),
        emergency_failed("old-emergency", start=t + timedelta(hours=2)),
    )
    await fx.service.sync()
    order = [task.linkedid for task in await fx.service.tasks()]
    assert order == ["old-emergency", "young-emergency", "old-repair", "young-repair", "old-vm"]
    assert fx.service.owed() == {"emergency": 2, "repair": 2, "normal": 1}
    await fx.service.record_attempt("old-emergency", AttemptResult.reached)
    assert fx.service.owed()["emergency"] == 1
    only = await fx.service.tasks(priority=Priority.repair)
    assert [task.linkedid for task in only] == ["old-repair", "young-repair"]


async def test_attempts_across_the_month_boundary_fail_the_stored_task(fx: Fixture) -> None:
    await fx.ingest(abandoned("c1", start=local(2026, 11, 30, 20, 0)))
    await fx.service.sync()
    one = await fx.service.record_attempt(
        "c1", AttemptResult.no_answer, at=local(2026, 11, 30, 23, 50), by="alice"
    )
    assert one.status is TaskStatus.open
    two = await fx.service.record_attempt(
        "c1", AttemptResult.call_reminder_service, at=local(2026, 12, 1, 0, 10), by="bob",
        note="来电提醒",
    )
    assert two.status is TaskStatus.failed
    stored = await fx.service.task("c1")
    assert stored == two
    assert [(a.result, a.by, a.note) for a in stored.attempts] == [
        (AttemptResult.no_answer, "alice", ""),
        (AttemptResult.call_reminder_service, "bob", "来电提醒"),
    ]
    with pytest.raises(TaskClosed):
        await fx.service.record_attempt("c1", AttemptResult.reached)
    assert len((await fx.service.task("c1")).attempts) == 2  # nothing was added


async def test_two_stored_failures_on_one_day_leave_the_task_open(fx: Fixture) -> None:
    await fx.ingest(abandoned("c1", start=local(2026, 12, 1, 7, 0)))
    await fx.service.sync()
    await fx.service.record_attempt("c1", AttemptResult.busy, at=local(2026, 12, 1, 7, 50))
    task = await fx.service.record_attempt(
        "c1", AttemptResult.no_answer, at=local(2026, 12, 1, 8, 10)
    )
    assert task.status is TaskStatus.open
    done = await fx.service.record_attempt("c1", AttemptResult.reached)  # now
    assert done.status is TaskStatus.done and done.closed_at == fx.clock.now()


async def test_refused_attempts_change_nothing(fx: Fixture) -> None:
    await fx.ingest(abandoned("c1", start=local(2026, 12, 1, 7, 0)))
    await fx.service.sync()
    with pytest.raises(CallbackRefused, match="in the future"):
        await fx.service.record_attempt(
            "c1", AttemptResult.busy, at=fx.clock.now() + timedelta(hours=1)
        )
    with pytest.raises(CallbackRefused, match="before the call"):
        await fx.service.record_attempt("c1", AttemptResult.busy, at=local(2026, 12, 1, 6, 0))
    with pytest.raises(TaskNotFound):
        await fx.service.record_attempt("nope", AttemptResult.busy)
    assert (await fx.service.task("c1")).attempts == ()


async def test_a_task_whose_call_no_longer_needs_one_is_dismissed(fx: Fixture) -> None:
    script = abandoned("c1", start=local(2026, 12, 1, 7, 0))
    await fx.ingest(script)
    await fx.service.sync()
    # a late report: an agent had answered after all
    script.at(39, EventKind.agent_answered, agent="agent1", leg="L9")
    await fx.ingest(script)
    result = await fx.service.sync()
    assert (result.created, result.dismissed) == (0, 1)
    assert (await fx.service.task("c1")).status is TaskStatus.dismissed


async def test_the_rate_counts_tasks_closed_in_the_local_month(fx: Fixture) -> None:
    start = local(2026, 11, 28, 9, 0)
    await fx.ingest(*(abandoned(f"c{n}", start=start + timedelta(minutes=n)) for n in range(5)))
    await fx.ingest(voicemail("anonymous", start=start, caller=""))
    await fx.service.sync()  # the anonymous caller's task: dismissed now, 3 December
    s = fx.service
    await s.record_attempt("c0", AttemptResult.reached, at=local(2026, 11, 29, 9, 0))
    # failed on its second day: 1 December 00:10 local = 30 November 16:10 UTC
    await s.record_attempt("c1", AttemptResult.busy, at=local(2026, 11, 30, 23, 50))
    await s.record_attempt("c1", AttemptResult.busy, at=local(2026, 12, 1, 0, 10))
    await s.dismiss("c2", "duplicate of c3", by="alice")  # at the clock: 3 December
    await s.record_attempt("c3", AttemptResult.reached, at=local(2026, 11, 30, 23, 59))
    november, december = await s.month(2026, 11), await s.month(2026, 12)
    assert (november.done, november.failed, november.dismissed) == (2, 0, 0)
    assert november.rate == 1.0 and november.attempts == 3
    assert (december.done, december.failed, december.dismissed) == (0, 1, 1)
    assert december.rate == 0.5 and december.reached_rate == 0.0 and december.attempts == 1
    assert november.open_now == december.open_now == 1  # c4
    assert (november.anonymous, december.anonymous) == (0, 1)  # not in the rate


async def test_dismissing_needs_a_reason(fx: Fixture) -> None:
    await fx.ingest(abandoned("c1"))
    await fx.service.sync()
    with pytest.raises(CallbackRefused, match="say why"):
        await fx.service.dismiss("c1", "   ")
    task = await fx.service.dismiss("c1", "wrong number", by="alice")
    assert task.close_note == "wrong number (alice)"


async def test_calling_back_rings_the_agent_then_the_customer(fx: Fixture) -> None:
    await fx.ingest(abandoned("c1"), answered("c2"), voicemail("c3", caller=""))
    await fx.service.sync()
    originator = FakeOriginator()
    agents = {"agent1": "坐席一"}
    channel = await fx.service.call_back("c1", "agent1", originator, agents)
    assert channel == "callback-1"
    assert originator.calls == [("agent1", MOBILE, "c1")]
    with pytest.raises(CallbackRefused, match="unknown agent"):
        await fx.service.call_back("c1", "intruder", originator, agents)
    with pytest.raises(TaskNotFound):
        await fx.service.call_back("c2", "agent1", originator, agents)
    with pytest.raises(TaskClosed):  # the anonymous voicemail's task is dismissed
        await fx.service.call_back("c3", "agent1", originator, agents)
    originator.fail = "Asterisk refused the call (400)"
    with pytest.raises(OriginateError):
        await fx.service.call_back("c1", "agent1", originator, agents)


# -- the ARI originator ----------------------------------------------------------------


class FakeAri:
    def __init__(self, connected: bool = True, error: Exception | None = None) -> None:
        import asyncio

        self.connected = asyncio.Event()
        if connected:
            self.connected.set()
        self.error = error
        self.requests: list[tuple[str, str, Any, Any]] = []

    async def request(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        self.requests.append((method, path, params, body))
        if self.error:
            raise self.error
        return {"id": params["channelId"]}


async def test_the_ari_originator_rings_the_agent_into_the_callback_context() -> None:
    ari = FakeAri()
    channel = await AriOriginator(ari, agent_ring_seconds=25).originate(  # type: ignore[arg-type]
        "agent1", MOBILE, "c1"
    )
    [(method, path, params, body)] = ari.requests
    assert (method, path) == ("POST", "/channels")
    assert params["endpoint"] == "PJSIP/agent1"
    assert (params["context"], params["extension"], params["priority"]) == (
        CALLBACK_CONTEXT, MOBILE, 1
    )
    assert params["timeout"] == 25 and params["channelId"] == channel
    assert body == {"variables": {"HOTLINE_CALLBACK_TASK": "c1",
                                  "HOTLINE_CALLBACK_AGENT": "agent1"}}


@pytest.mark.parametrize(
    ("ari", "customer", "message"),
    [
        (FakeAri(connected=False), MOBILE, "not connected"),
        (FakeAri(error=AriError(400, "POST", "/channels", "Allocation failed")), MOBILE,
         "refused"),
        (FakeAri(error=ConnectionError("gone")), MOBILE, "could not be asked"),
        (FakeAri(), "12;Dial(evil)", "not a number"),
        (FakeAri(), "", "not a number"),
    ],
)
async def test_the_ari_originator_says_why_it_could_not(
    ari: FakeAri, customer: str, message: str
) -> None:
    with pytest.raises(OriginateError, match=message):
        await AriOriginator(ari).originate("agent1", customer, "c1")  # type: ignore[arg-type]
