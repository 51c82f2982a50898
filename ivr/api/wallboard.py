"""What the wallboard shows (one snapshot): calls waiting and the longest wait, agents by
their configured name and state, today's rates against their targets, abandoned calls,
callbacks owed, the reminder about next month's roster and the announcement callers hear
on the menu's announcement key (e.g. a gas outage notice). The numbers are those of
`/api/live` (the same live view) and of the day report (the same `report()`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ivr.api.context import ApiContext
from ivr.config import HotlineConfig
from ivr.domain.rates import Rate
from ivr.domain.roster import roster_notice
from ivr.journal.forecast import next_month_roster_exists, today_of
from ivr.journal.queries import report, today_range
from ivr.journal.report_text import RATE_TITLES, rate_target, rate_value

# the rates a supervisor watches on the wall, in this order
BOARD_RATES = (
    "auto_answer",
    "transfer_answer",
    "manual_answer",
    "no_answer",
    "within_three_rings",
    "service_level",
    "average_queue_seconds",
    "busy",
)
STATE_ORDER = {"ringing": 0, "busy": 1, "available": 2, "paused": 3, "logged_out": 4}


def _rate(rate: Rate) -> dict[str, Any]:
    return {
        "name": rate.name,
        "title": RATE_TITLES.get(rate.name, rate.name),
        "shown": rate_value(rate),
        "target_shown": rate_target(rate),
        "value": rate.value,
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "met": rate.met,
        "unit": rate.unit,
    }


async def snapshot(ctx: ApiContext, now: datetime) -> dict[str, Any]:
    config = ctx.config()
    zone = config.hotline.zone
    state = ctx.live.state()
    start, end = today_range(now, zone)
    today = await report(ctx.journal, start, end, zone=zone, targets=config.targets.values)
    rates = {rate.name: rate for rate in today.kpi.all}
    owed = await ctx.callbacks.store.open_counts()
    longest = state.longest_wait(now.timestamp())
    names = config.person_name
    agents = sorted(
        (
            {"name": names(a.endpoint) or a.name, "endpoint": a.endpoint, "state": a.state}
            for a in state.agents.values()
        ),
        key=lambda a: (STATE_ORDER.get(a["state"], 9), a["name"]),
    )
    day = today_of(config, now)
    tally = today.tally
    return {
        "hotline": config.hotline.name,
        "day": day.isoformat(),
        "at": now.astimezone(zone).strftime("%H:%M:%S"),
        "connected": ctx.live.ari_connected() and ctx.live.ami_connected(),
        "waiting": len(state.waiting),
        "longest_wait_seconds": None if longest is None else round(longest),
        "talking": len(state.talking),
        "in_ivr": len(ctx.live.calls_in_ivr()),
        "agents": agents,
        "agents_by_state": state.agents_by_state(),
        "offered": tally.offered,
        "answered_by_person": tally.answered_by_person,
        "abandoned": tally.outcome_abandoned,
        "voicemails": tally.outcome_voicemail,
        "callbacks_owed": sum(owed.values()),
        "rates": [_rate(rates[name]) for name in BOARD_RATES],
        "roster_notice": roster_notice(day, next_month_roster_exists(config, day)),
        "announcement": _announcement(config),
    }


def _announcement(config: HotlineConfig) -> str | None:
    """What callers hear on the menu's announcement key (an outage notice, the hours and
    addresses): its text, or the recording's file name."""
    prompt = config.prompts.announcement
    if config.menu.announcement_key is None or prompt is None:
        return None
    if prompt.text is not None:
        return prompt.text.format(name=config.hotline.name,
                                  hours=config.schedule.describe_hours(),
                                  emergency_number=config.hotline.emergency_number,
                                  repair_number=config.hotline.repair_number)
    return f"(recorded: {prompt.file.name if prompt.file else ''})"
