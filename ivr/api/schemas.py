"""The API's input and output schemas (pydantic), and how domain objects become them.
Caller numbers go through `shown_number`: a viewer sees them masked (R10)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ivr.api.params import ENDPOINT_PATTERN
from ivr.auth.roles import Role, shown_number, shown_text
from ivr.callbacks.domain import (
    NOTE_MAX,
    Attempt,
    AttemptResult,
    CallbackMonth,
    CallbackTask,
    TaskStatus,
)
from ivr.callbacks.voicemail import Voicemail
from ivr.compliance import Finding
from ivr.domain.callback_cycle import Satisfaction
from ivr.domain.events import JournalEvent
from ivr.domain.nodes import node_of
from ivr.domain.rates import Rate
from ivr.domain.record import CallRecord, Outcome
from ivr.domain.tally import Tally
from ivr.journal.queries import Report, Slice

QUANTILES = (0.5, 0.8, 0.9, 0.95)


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Problem(Out):
    detail: str
    problems: list[str] = []


Responses = dict[int | str, dict[str, Any]]


def problem(status: int, description: str | None = None) -> Responses:
    """An error answer for the OpenAPI document."""
    answer: dict[str, Any] = {"model": Problem}
    if description:
        answer["description"] = description
    return {status: answer}


# every /api operation: a body that cannot be read, no token, a role that may not,
# a body over the route's limit (ivr.api.guard), input that is not valid
AUTH: Responses = (
    problem(400, "the body could not be read")
    | problem(401, "no token, or not a valid one (unknown, expired or revoked)")
    | problem(403, "the token's role may not do this")
    | problem(413, "the body is larger than the route allows")
    | problem(422, "the request is not valid: `problems` says what; nothing changed")
)
CSV: Responses = {200: {"content": {"text/csv": {}}}}


# -- calls -----------------------------------------------------------------------------


class MenuChoiceOut(Out):
    key: str
    service: str
    at: datetime


Names = Callable[[str | None], str | None]  # endpoint id -> the configured name


class RingAttemptOut(Out):
    who: str = Field(description="the phone's endpoint id")
    who_name: str | None = Field(description="the person's configured name")
    role: str
    started_at: datetime
    ended_at: datetime | None
    result: str | None
    ring_seconds: float | None


class CallOut(Out):
    linkedid: str
    line: str
    mode: str
    caller: str
    arrived_at: datetime
    ended_at: datetime | None
    in_progress: bool
    outcome: str | None
    service: str | None
    ivr_answered_at: datetime | None
    off_hours: bool
    controller_absent: bool
    menu_choices: list[MenuChoiceOut]
    human_requested_at: datetime | None
    human_target: str | None
    attempts: list[RingAttemptOut]
    answered_by: str | None = Field(description="the endpoint id of who answered")
    answered_by_name: str | None = Field(description="their configured name")
    answered_at: datetime | None
    wait_seconds: float | None = Field(
        description="speed of answer: from asking for a person to the answer"
    )
    ring_seconds: float | None = Field(description="how long the answering phone rang")
    rings: int | None = Field(description="rings of the answering phone")
    within_three_rings: bool | None
    queue_seconds: float | None = Field(
        description="queue time: from the queue entry or the on-call chain's first dial"
    )
    within_service_level: bool | None
    talk_seconds: float | None
    handling_seconds: float | None = Field(description="talk + wrap-up")
    abandon_place: str | None
    abandon_wait_seconds: float | None
    voicemail: bool
    voicemail_empty: bool
    voicemail_seconds: float | None
    voicemail_urgent: bool
    oncall_result: str | None
    end_cause: str | None
    callback_needed: bool
    survey_score: int | None = Field(
        default=None,
        description="the post-call survey's key: 1 satisfied, 2 basically satisfied, "
        "3 dissatisfied; null when not asked or not answered",
    )
    node: str | None = Field(
        default=None, description="the Asterisk node that had the call (several nodes only)"
    )

    @classmethod
    def of(
        cls, r: CallRecord, role: Role, names: Names, nodes: Mapping[str, str] | None = None
    ) -> CallOut:
        return cls(
            linkedid=r.linkedid,
            node=node_of(r.linkedid, nodes or {}),
            line=r.line,
            mode=r.mode.value,
            caller=shown_number(r.caller, role),
            arrived_at=r.arrived_at,
            ended_at=r.ended_at,
            in_progress=r.in_progress,
            outcome=r.outcome.value if r.outcome else None,
            service=r.service,
            ivr_answered_at=r.ivr_answered_at,
            off_hours=r.off_hours,
            controller_absent=r.controller_absent,
            menu_choices=[MenuChoiceOut(key=c.key, service=c.service, at=c.at)
                          for c in r.menu_choices],
            human_requested_at=r.human_requested_at,
            human_target=r.human_target,
            attempts=[
                RingAttemptOut(
                    who=a.who,
                    who_name=names(a.who),
                    role=a.role,
                    started_at=a.started_at,
                    ended_at=a.ended_at,
                    result=a.result,
                    ring_seconds=a.ring_seconds,
                )
                for a in r.attempts
            ],
            answered_by=r.answered_by,
            answered_by_name=names(r.answered_by),
            answered_at=r.answered_at,
            wait_seconds=r.wait_seconds,
            ring_seconds=r.ring_seconds,
            rings=r.rings,
            within_three_rings=r.within_three_rings,
            queue_seconds=r.queue_seconds,
            within_service_level=r.within_service_level,
            talk_seconds=r.talk_seconds,
            handling_seconds=r.handling_seconds,
            abandon_place=r.abandon_place.value if r.abandon_place else None,
            abandon_wait_seconds=r.abandon_wait_seconds,
            voicemail=r.outcome is Outcome.voicemail,
            voicemail_empty=r.voicemail_empty,
            voicemail_seconds=r.voicemail_seconds,
            voicemail_urgent=r.voicemail_urgent,
            oncall_result=r.oncall_result.value if r.oncall_result else None,
            end_cause=r.end_cause,
            callback_needed=r.callback_needed,
            survey_score=r.survey_score,
        )


class CallPage(Out):
    zone: str
    calls: list[CallOut]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next (older) page; null on the last page"
    )


class EventOut(Out):
    at: datetime
    kind: str
    source: str
    data: dict[str, str | int | float | bool | None]

    @classmethod
    def of(cls, event: JournalEvent, caller: str, role: Role) -> EventOut:
        data = dict(event.data)
        if not role.sees_numbers:
            data = {key: _masked(key, value, caller) for key, value in data.items()}
        return cls(at=event.at, kind=event.kind.value, source=event.source, data=data)


def _masked(key: str, value: Any, caller: str) -> Any:
    if not isinstance(value, str):
        return value
    if key.lower() in {"caller", "callerid", "calleridnum", "connectedlinenum", "number"}:
        return shown_number(value, Role.viewer)
    if caller and len(caller) >= 3 and caller in value:
        return value.replace(caller, shown_number(caller, Role.viewer))
    return value


class CallDetail(Out):
    zone: str
    call: CallOut
    timeline: list[EventOut] = Field(description="the call's journal events, in time order")


# -- reports ---------------------------------------------------------------------------


class RateOut(Out):
    name: str
    value: float | None = Field(
        description="a share 0-1, or seconds, or rings (see unit); null when the "
        "denominator is 0"
    )
    unit: Literal["share", "seconds", "rings"]
    numerator: int = Field(description="for averages of seconds: milliseconds")
    denominator: int
    target: float = Field(description="the bound; for a band, its lower end")
    target_upper: float | None = Field(default=None, description="a band's upper end")
    direction: Literal["at_least", "at_most", "between"]
    met: bool | None

    @classmethod
    def of(cls, rate: Rate) -> RateOut:
        return cls(
            name=rate.name,
            value=rate.value,
            numerator=rate.numerator,
            denominator=rate.denominator,
            unit=rate.unit,
            target=rate.target,
            target_upper=rate.upper,
            direction=rate.direction.value,
            met=rate.met,
        )


class HistogramBucket(Out):
    le: float | None = Field(description="upper bound in seconds (null: +Inf)")
    count: int = Field(description="cumulative")


class AnswerTimeOut(Out):
    count: int
    mean_seconds: float | None
    percentiles: dict[str, float | None] = Field(
        description="p50, p80, p90, p95 in seconds, estimated from the histogram "
        "(like Prometheus' histogram_quantile)"
    )
    within_20_seconds: int
    buckets: list[HistogramBucket]


class AbandonOut(Out):
    place: str
    count: int
    mean_wait_seconds: float | None


class SliceOut(Out):
    offered: int
    in_progress: int
    rates: dict[str, RateOut] = Field(
        description="auto_answer, transfer_answer, manual_answer, no_answer, "
        "within_three_rings, busy, ring_attempts_within_three_rings, average_rings, "
        "average_queue_seconds, service_level, average_speed_of_answer_seconds, "
        "average_handling_seconds"
    )
    human_requested: int
    answered_by_person: int
    answered_within_three_rings: int
    outcomes: dict[str, int]
    rings: dict[str, int] = Field(description="calls answered by a person, by rings heard")
    answer_time: AnswerTimeOut
    abandoned: list[AbandonOut]
    voicemails: int
    voicemails_urgent: int
    voicemails_empty: int
    queued: int = Field(description="calls that entered the queue or the on-call chain")
    oncall: dict[str, int]
    callbacks_needed: int
    controller_absent: int

    @classmethod
    def of(cls, part: Slice) -> SliceOut:
        t, k = part.tally, part.kpi
        rates = k.all
        return cls(
            offered=t.offered,
            in_progress=t.in_progress,
            rates={rate.name: RateOut.of(rate) for rate in rates},
            human_requested=t.human_requested,
            answered_by_person=t.answered_by_person,
            answered_within_three_rings=t.answered_within_three_rings,
            outcomes={outcome.value: n for outcome, n in t.outcomes().items()},
            rings=t.rings(),
            answer_time=_answer_time(t),
            abandoned=[
                AbandonOut(place=place.value, count=n, mean_wait_seconds=wait)
                for place, (n, wait) in t.abandoned().items()
            ],
            voicemails=t.outcome_voicemail,
            voicemails_urgent=t.voicemail_urgent,
            voicemails_empty=t.voicemail_empty,
            queued=t.queued,
            oncall={result.value: n for result, n in t.oncall().items()},
            callbacks_needed=t.callbacks_needed,
            controller_absent=t.controller_absent,
        )


def _answer_time(t: Tally) -> AnswerTimeOut:
    buckets = t.answer_buckets()
    return AnswerTimeOut(
        count=t.answer_count,
        mean_seconds=t.answer_mean_seconds,
        percentiles={f"p{round(q * 100)}": t.answer_quantile(q) for q in QUANTILES},
        within_20_seconds=dict(buckets).get(20.0, 0),
        buckets=[
            HistogramBucket(le=None if bound == float("inf") else bound, count=n)
            for bound, n in buckets
        ],
    )


class HourOut(SliceOut):
    hour: int


class WeekdayOut(SliceOut):
    weekday: int = Field(description="Monday = 0")
    name: str


class RingTimeOut(Out):
    who: str
    who_name: str | None
    role: str
    result: str
    attempts: int
    ring_seconds: float


class PeriodOut(Out):
    kind: Literal["day", "month", "range"]
    label: str
    start: datetime
    end: datetime
    zone: str


class ReportOut(Out):
    period: PeriodOut
    line: str | None
    total: SliceOut
    per_line: dict[str, SliceOut]
    by_hour: list[HourOut] = Field(description="local hour of day of arrival, 0-23")
    by_weekday: list[WeekdayOut] = Field(description="local weekday of arrival")
    ring_time: list[RingTimeOut] = Field(description="each phone's ringing, per result")
    per_node: dict[str, SliceOut] = Field(
        default_factory=dict,
        description="several Asterisk nodes: the same calls split by the node that had them",
    )

    @classmethod
    def of(
        cls,
        report: Report,
        kind: Literal["day", "month", "range"],
        label: str,
        names: Names,
        per_node: Mapping[str, Slice] | None = None,
    ) -> ReportOut:
        return cls(
            per_node={node: SliceOut.of(part) for node, part in (per_node or {}).items()},
            period=PeriodOut(
                kind=kind, label=label, start=report.start, end=report.end, zone=report.zone
            ),
            line=report.line,
            total=SliceOut.of(report.total),
            per_line={name: SliceOut.of(part) for name, part in report.per_line.items()},
            by_hour=[
                HourOut(hour=hour, **SliceOut.of(part).model_dump())
                for hour, part in enumerate(report.by_hour)
            ],
            by_weekday=[
                WeekdayOut(weekday=day, name=WEEKDAYS[day], **SliceOut.of(part).model_dump())
                for day, part in enumerate(report.by_weekday)
            ],
            ring_time=[
                RingTimeOut(
                    who=who,
                    who_name=names(who),
                    role=role,
                    result=result,
                    attempts=n,
                    ring_seconds=ms / 1000,
                )
                for (who, role, result), (n, ms) in sorted(report.ring_attempts.items())
            ],
        )


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- live ------------------------------------------------------------------------------


class IvrCallOut(Out):
    channel: str
    linkedid: str
    line: str
    caller: str
    state: str


class AgentOut(Out):
    name: str = Field(description="the configured name")
    endpoint: str = Field(description="the queue member's id")
    interface: str
    state: str
    paused: bool


class LiveOut(Out):
    ari_connected: bool
    ami_connected: bool
    in_ivr: list[IvrCallOut]
    waiting: int
    talking: int
    agents: list[AgentOut]
    agents_by_state: dict[str, int]
    recent_events: list[dict[str, str]]


# -- callbacks -------------------------------------------------------------------------


class AttemptOut(Out):
    at: datetime
    local_date: date
    result: AttemptResult
    failed: bool
    by: str
    note: str
    satisfaction: Satisfaction | None = None
    satisfaction_note: str = ""


class TaskOut(Out):
    linkedid: str
    arrived_at: datetime
    line: str
    caller: str
    service: str | None
    reason: str
    priority: Literal["emergency", "repair", "normal"]
    due_at: datetime
    overdue: bool
    status: TaskStatus
    closed_at: datetime | None
    close_note: str
    attempts: list[AttemptOut]
    failed_days: list[date] = Field(description="local dates with a failed attempt")
    order_id: int | None = Field(default=None, description="the work order called back about")
    satisfaction: Satisfaction | None = None

    @classmethod
    def of(cls, task: CallbackTask, role: Role, now: datetime, zone: Any) -> TaskOut:
        return cls(
            linkedid=task.linkedid,
            arrived_at=task.arrived_at,
            line=task.line,
            caller=shown_number(task.caller, role),
            service=task.service,
            reason=task.reason.value,
            priority=task.priority.label,  # type: ignore[arg-type]
            due_at=task.due_at,
            overdue=task.overdue(now),
            status=task.status,
            closed_at=task.closed_at,
            close_note=shown_text(task.close_note, role),
            attempts=[_attempt(a, zone, role) for a in task.attempts],
            failed_days=task.failed_days(zone),
            order_id=task.order_id,
            satisfaction=task.satisfaction,
        )


def _attempt(attempt: Attempt, zone: Any, role: Role) -> AttemptOut:
    return AttemptOut(
        at=attempt.at,
        local_date=attempt.at.astimezone(zone).date(),
        result=attempt.result,
        failed=attempt.result.failed,
        by=attempt.by,
        note=shown_text(attempt.note, role),
        satisfaction=attempt.satisfaction,
        satisfaction_note=shown_text(attempt.satisfaction_note, role),
    )


class TaskList(Out):
    zone: str
    tasks: list[TaskOut]


class AttemptIn(In):
    result: AttemptResult
    at: datetime | None = Field(
        default=None,
        description="when the attempt was made (default: now); without an offset, local "
        "time in the hotline's zone",
    )
    note: str = Field(default="", max_length=NOTE_MAX)
    satisfaction: Satisfaction | None = Field(
        default=None, description="the survey's answer (满意度调查), when the customer was reached"
    )
    satisfaction_note: str = Field(default="", max_length=NOTE_MAX)


class DismissIn(In):
    note: str = Field(min_length=1, max_length=NOTE_MAX, description="why no callback is made")


class CallBackIn(In):
    agent: str = Field(pattern=ENDPOINT_PATTERN, description="the agent's PJSIP endpoint")


class CallBackOut(Out):
    task: str
    agent: str
    channel_id: str
    detail: str


class SyncOut(Out):
    created: int
    dismissed: int


class MonthOut(Out):
    month: str
    zone: str
    owed: int = Field(description="callback tasks of calls that arrived in the month")
    called_back: int = Field(description="of those, tasks with at least one callback attempt")
    never_called: int
    done: int
    failed: int
    dismissed: int
    still_open: int
    rate: float | None
    reached_rate: float | None
    attempts: int
    anonymous: int = Field(description="tasks of anonymous callers, not in the rate")
    definition: str
    orders_closed: int = Field(default=0, description="work orders closed in the month (结单量)")
    order_callbacks_made: int = Field(
        default=0, description="work orders' callbacks first attempted in the month (回访量)"
    )
    order_rate: float | None = Field(
        default=None, description="回访率 = order_callbacks_made / orders_closed (SPEC §3, R7)"
    )
    dissatisfied: int = Field(default=0, description="callbacks in the month answered 不满意")

    @classmethod
    def of(cls, month: CallbackMonth, zone: str) -> MonthOut:
        return cls(
            month=f"{month.year:04d}-{month.month:02d}",
            zone=zone,
            owed=month.owed,
            called_back=month.called_back,
            never_called=month.never_called,
            done=month.done,
            failed=month.failed,
            dismissed=month.dismissed,
            still_open=month.still_open,
            rate=month.rate,
            reached_rate=month.reached_rate,
            attempts=month.attempts,
            anonymous=month.anonymous,
            orders_closed=month.orders_closed,
            order_callbacks_made=month.order_callbacks_made,
            order_rate=month.order_rate,
            dissatisfied=month.dissatisfied,
            definition=(
                "rate = tasks called back (at least one attempt) / tasks owed (their "
                "calls arrived in the local month), anonymous callers left out: a task "
                "never called lowers it (R7: 回访率 = 月度回访量 / 结单量)"
            ),
        )


# -- voicemail -------------------------------------------------------------------------


class VoicemailOut(Out):
    linkedid: str
    arrived_at: datetime
    line: str
    caller: str
    service: str | None
    seconds: float | None
    urgent: bool
    handled: bool
    handled_at: datetime | None
    handled_by: str | None
    audio_url: str

    @classmethod
    def of(cls, voicemail: Voicemail, role: Role) -> VoicemailOut:
        r, mark = voicemail.record, voicemail.handled
        return cls(
            linkedid=r.linkedid,
            arrived_at=r.arrived_at,
            line=r.line,
            caller=shown_number(r.caller, role),
            service=r.service,
            seconds=r.voicemail_seconds,
            urgent=r.voicemail_urgent,
            handled=mark is not None,
            handled_at=mark.at if mark else None,
            handled_by=mark.by if mark else None,
            audio_url=f"/api/voicemails/{r.linkedid}/audio",
        )


class VoicemailList(Out):
    zone: str
    voicemails: list[VoicemailOut]


# -- configuration ---------------------------------------------------------------------


class FindingOut(Out):
    level: Literal["error", "warning"]
    field: str
    message: str

    @classmethod
    def of(cls, finding: Finding) -> FindingOut:
        return cls(level=finding.level, field=finding.field, message=finding.message)


class CheckOut(Out):
    ok: bool
    errors: int
    warnings: int
    summary: str
    findings: list[FindingOut]


class ConfigOut(Out):
    path: str
    file_differs: bool | None = Field(
        description="the file on disk differs from the active configuration (saved, not "
        "reloaded yet); null if the file cannot be read"
    )
    config: dict[str, Any]


class UploadOut(Out):
    saved: bool
    path: str
    restart_needed: list[str] = Field(
        description="sections a reload does not apply: they take effect at the next restart"
    )
    check: CheckOut
    detail: str


class Accepted(Out):
    detail: str


# -- health, identity ------------------------------------------------------------------


class LiveHealth(Out):
    status: Literal["ok"]


class ReadyOut(Out):
    ready: bool
    checks: dict[str, bool]
    problems: list[str]


class MeOut(Out):
    name: str
    role: Role
