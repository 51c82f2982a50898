"""What `route` answers: the routing policy's decision for one step of a dialplan-driven
call, as channel variables and the journal events of that step. Pure: the clock's
instant and what the channel already carries are passed in.

The steps mirror the hotline's own call flow, so the journal folds both the same way:

* arrival (no `key` given): `call_arrived`; on an IVR line `ivr_answered` (the dialplan
  answers before it asks); then in hours an IVR line gets `menu` (the dialplan plays
  its menu and asks again with the key) and a manual line goes to the queue
  (`human_requested`); outside hours `off_hours` and target `closed` (the dialplan plays
  the off-hours prompt and asks again with the key, or with `key=` for none);
* a key in hours: `menu_choice` and `human_requested` (target `queue`); the
  announcement key gives target `announcement`; no key or a wrong one gives `menu`
  again (`menu_timeout` / `menu_invalid`) until the last try, then the menu's default;
* a key outside hours: a night-transfer key rings the on-call chain (`menu_choice`,
  `human_requested` with target `oncall`, `HOTLINE_ONCALL`), anything else `voicemail`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ivr.asterisk.render import oncall_dial_chain
from ivr.callflow.policy import RoutingPolicy
from ivr.config import HotlineConfig, Line
from ivr.domain.events import EventKind, Scalar
from ivr.domain.record import normalise_caller
from ivr.domain.vocabulary import LineMode, Service

QUEUE = "hotline"  # app_queue's queue of the rendered queues.conf
# the hotline's own contexts, for a PBX that also runs the rendered dialplan
CONTEXTS = {
    "queue": "hotline-person",
    "oncall": "hotline-oncall",
    "voicemail": "hotline-voicemail",
}
EMERGENCY_PRIORITY = 10


@dataclass
class Decision:
    variables: dict[str, str] = field(default_factory=dict)
    events: list[tuple[EventKind, dict[str, Scalar]]] = field(default_factory=list)

    def journal(self, kind: EventKind, **data: Scalar) -> None:
        self.events.append((kind, data))


@dataclass(frozen=True)
class CallState:
    """What the channel carries from the call's earlier `route` steps."""

    arrived: bool = False
    open: bool | None = None  # as decided at arrival
    attempt: int = 0  # menu tries so far


def find_line(config: HotlineConfig, name_or_number: str) -> Line | None:
    return next(
        (ln for ln in config.lines if name_or_number in (ln.name, ln.number)), None
    )


def decide(
    policy: RoutingPolicy,
    line: Line,
    key: str | None,
    state: CallState,
    now: datetime,
    caller: str = "",
    prompts: dict[str, str] | None = None,
) -> Decision:
    config = policy.config
    decision = Decision()
    out = decision.variables
    is_open = state.open
    if is_open is None:
        is_open = policy.in_service_hours(now)
    local_day = now.astimezone(config.hotline.zone).date()
    out.update({
        "__HOTLINE_LINE": line.name,
        "HOTLINE_OPEN": "1" if is_open else "0",
        "HOTLINE_HOLIDAY": "1" if policy.schedule.is_holiday(local_day) else "0",
        "HOTLINE_ARRIVED": "1",
        "HOTLINE_QUEUE": QUEUE,
        "HOTLINE_QUEUE_MAX_WAIT": str(config.queue.max_wait_seconds),
        "HOTLINE_MENU_TIMEOUT": str(config.menu.timeout_seconds),
        "HOTLINE_ONCALL": "",
        "HOTLINE_CONTEXT": "",
    })
    for name, path in (prompts or {}).items():
        out[f"HOTLINE_PROMPT_{name.upper()}"] = path
    if not state.arrived:
        number = normalise_caller(caller)
        out["__HOTLINE_CALLER"] = number
        decision.journal(EventKind.call_arrived, mode=line.mode.value, caller=number)
        if line.mode is LineMode.ivr:
            decision.journal(EventKind.ivr_answered)
    if is_open:
        _in_hours(policy, line, key, state, decision)
    else:
        _off_hours(policy, line, key, state, decision, now)
    return decision


def _in_hours(
    policy: RoutingPolicy, line: Line, key: str | None, state: CallState, decision: Decision
) -> None:
    if line.mode is LineMode.manual:
        if state.arrived:  # asked again: the same answer, journaled once
            _target(decision, "queue")
        else:
            _to_person(decision, Service.person)
        return
    if key is None:  # arrival: the dialplan plays the menu
        _target(decision, "menu", attempt=1)
        return
    attempt = max(state.attempt, 1)
    digit = key or None
    if policy.is_announcement(digit):
        decision.journal(EventKind.menu_choice, key=digit, service="announcement",
                         attempt=attempt)
        _target(decision, "announcement", attempt=attempt + 1)
        return
    answer = policy.read_menu_key(digit)
    if answer.service is not None:
        decision.journal(EventKind.menu_choice, key=digit, service=answer.service.value,
                         attempt=attempt)
        _to_person(decision, answer.service)
        return
    if answer.timed_out:
        decision.journal(EventKind.menu_timeout, attempt=attempt)
    else:
        decision.journal(EventKind.menu_invalid, digits=key, attempt=attempt)
    if attempt < policy.menu_attempts:
        _target(decision, "menu", attempt=attempt + 1)
    else:
        _to_person(decision, policy.menu_default)


def _off_hours(
    policy: RoutingPolicy,
    line: Line,
    key: str | None,
    state: CallState,
    decision: Decision,
    now: datetime,
) -> None:
    if key is None:
        if not state.arrived:
            if line.mode is LineMode.manual:
                decision.journal(EventKind.ivr_answered, via="manual")
            decision.journal(EventKind.off_hours)
        _target(decision, "closed")
        return
    digit = key or None
    if digit is not None and policy.is_night_transfer(digit):
        service = policy.config.menu.keys[digit]
        decision.journal(EventKind.menu_choice, key=digit, service=service.value, attempt=1)
        decision.journal(EventKind.human_requested, service=service.value, target="oncall")
        people = policy.oncall_chain(now)
        decision.variables.update({
            "__HOTLINE_SERVICE": service.value,
            "HOTLINE_ONCALL": oncall_dial_chain(policy.config, people),
            "HOTLINE_ONCALL_COUNT": str(len(people)),
        })
        _target(decision, "oncall")
        return
    if digit is not None:
        decision.journal(EventKind.menu_choice, key=digit, service="voicemail", attempt=1)
    _target(decision, "voicemail")


def _to_person(decision: Decision, service: Service) -> None:
    decision.journal(EventKind.human_requested, service=service.value, target="queue")
    priority = EMERGENCY_PRIORITY if service is Service.emergency else 0
    decision.variables.update({
        "__HOTLINE_SERVICE": service.value,
        "QUEUE_PRIO": str(priority),
    })
    _target(decision, "queue")


def _target(decision: Decision, target: str, attempt: int | None = None) -> None:
    decision.variables["HOTLINE_TARGET"] = target
    decision.variables["HOTLINE_CONTEXT"] = CONTEXTS.get(target, "")
    if attempt is not None:
        decision.variables["HOTLINE_MENU_ATTEMPT"] = str(attempt)
