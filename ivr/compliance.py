"""Does a valid configuration keep the hotline's rules (SPEC R1-R3)? Pure.

`load_config` already rejects what cannot work at all; this reports what works but
breaks a rule: too few consultation hours, minutes with nobody on call, menu keys
that lead nowhere, an off-hours prompt that does not tell the hours and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ivr.config import HotlineConfig, OnCall, Prompt
from ivr.domain.schedule import DAY, WEEK, Schedule, Span
from ivr.domain.vocabulary import DAY_NAMES, LineMode, Service

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    level: Level
    field: str  # dotted path in the config, e.g. "hours.consultation"
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.field}: {self.message}"


@dataclass(frozen=True)
class HoursRule:
    """R3's minimum consultation hours for one kind of company."""

    hours: float
    continuous: bool
    applies_to: str

    def describe(self) -> str:
        how = "continuous hours" if self.continuous else "hours"
        return f"R3 requires at least {self.hours:g} {how} a day for {self.applies_to}"


def check_compliance(config: HotlineConfig) -> list[Finding]:
    """Every rule broken by the config; errors first, each naming the config field."""
    schedule = config.schedule
    findings = [
        *consultation_hour_findings(config, schedule),
        *oncall_findings(config, schedule),
        *emergency_route_findings(config),
        *menu_route_findings(config),
        *manual_line_findings(config),
        *off_hours_prompt_findings(config, schedule),
        *night_repair_findings(config, schedule),
    ]
    return sorted(findings, key=lambda f: f.level != "error")


def has_errors(findings: list[Finding]) -> bool:
    return any(f.level == "error" for f in findings)


def required_consultation_hours(config: HotlineConfig) -> HoursRule:
    households = config.hotline.households
    if households > 100_000:
        return HoursRule(12, True, "a company with more than 100,000 households")
    if households < 1000 and config.hotline.new_company:
        return HoursRule(8, False, "a new company with fewer than 1,000 households")
    return HoursRule(10, True, "an operating company")


def consultation_hour_findings(config: HotlineConfig, schedule: Schedule[OnCall]) -> list[Finding]:
    """R3 for each day of the week; public holidays may be closed, weekends may not."""
    rule = required_consultation_hours(config)
    if rule.continuous:
        per_day = schedule.continuous_daily_hours(Service.consultation)
    else:
        per_day = schedule.daily_hours(Service.consultation)
    short: dict[float, list[int]] = {}
    for weekday, hours in per_day.items():
        if hours < rule.hours:
            short.setdefault(hours, []).append(weekday)
    findings = []
    for hours, weekdays in sorted(short.items()):
        days = ", ".join(DAY_NAMES[wd] for wd in weekdays)
        if hours == 0:
            what = f"{days}: no consultation hours at all"
        else:
            kind = "continuous hours" if rule.continuous else "hours"
            what = f"{days}: only {hours:g} {kind} of consultation"
        findings.append(Finding("error", "hours.consultation", f"{what}; {rule.describe()}"))
    return findings


def oncall_findings(config: HotlineConfig, schedule: Schedule[OnCall]) -> list[Finding]:
    """Every minute of every weekday needs someone on call: holidays fall on any day."""
    if not config.oncall:
        return [
            Finding(
                "error",
                "oncall",
                "nobody is on call: emergency calls outside service hours reach no one (R1)",
            )
        ]
    return [
        Finding(
            "error",
            "oncall",
            f"{describe_week_span(gap)} has nobody on call; the [[oncall]] covers must "
            "together cover every minute of the week (R1: emergency at any hour)",
        )
        for gap in schedule.oncall_gaps()
    ]


def emergency_route_findings(config: HotlineConfig) -> list[Finding]:
    findings = []
    if Service.emergency not in config.menu.keys.values():
        findings.append(
            Finding("error", "menu.keys", "no key leads to emergency (R1: emergency at any hour)")
        )
    if Service.emergency not in config.hotline.night_transfer:
        findings.append(
            Finding(
                "error",
                "hotline.night_transfer",
                "emergency is not transferred at night: outside service hours emergency "
                "calls would only reach voicemail (R1)",
            )
        )
    if config.hotline.night_transfer and not config.oncall:
        night = ", ".join(s.value for s in config.hotline.night_transfer)
        findings.append(
            Finding(
                "error",
                "hotline.night_transfer",
                f"{night} ring the on-call staff at night, but there are no [[oncall]] people",
            )
        )
    return findings


def menu_route_findings(config: HotlineConfig) -> list[Finding]:
    """A key must lead somewhere a person can answer."""
    choices = [(f"menu.keys.{key}", service) for key, service in config.menu.keys.items()]
    choices.append(("menu.default", config.menu.default))
    findings = []
    for field, service in choices:
        problem = _route_problem(config, service)
        if problem:
            findings.append(Finding("error", field, problem))
    return findings


def _route_problem(config: HotlineConfig, service: Service) -> str | None:
    if service is Service.emergency:
        if not config.oncall:
            return "emergency has no route: there are no [[oncall]] people"
        return None
    if not config.agents:
        return f"{service.value} needs a person, but there are no [[agents]]"
    return None


def manual_line_findings(config: HotlineConfig) -> list[Finding]:
    if config.agents:
        return []
    return [
        Finding("error", f"lines.{index}", f"manual line {line.number} has no [[agents]] to ring")
        for index, line in enumerate(config.lines)
        if line.mode is LineMode.manual
    ]


def off_hours_prompt_findings(config: HotlineConfig, schedule: Schedule[OnCall]) -> list[Finding]:
    """R2: the unattended prompt states the service hours and the emergency and repair
    numbers, by placeholder or literally."""
    prompt: Prompt = config.prompts.off_hours
    numbers = f"emergency {config.hotline.emergency_number}, repair {config.hotline.repair_number}"
    if prompt.text is None:
        return [
            Finding(
                "warning",
                "prompts.off_hours.file",
                "a recorded prompt cannot be checked: make sure it states the service hours "
                f"({schedule.describe_hours()}) and the numbers ({numbers}) (R2)",
            )
        ]
    text = prompt.text
    missing = []
    if "{hours}" not in text and schedule.describe_hours() not in text:
        missing.append("the service hours ({hours})")
    if not _says_number(text, "emergency_number", config.hotline.emergency_number):
        missing.append("the emergency number ({emergency_number})")
    if not _says_number(text, "repair_number", config.hotline.repair_number):
        missing.append("the repair number ({repair_number})")
    if not missing:
        return []
    return [
        Finding(
            "error",
            "prompts.off_hours.text",
            "the off-hours prompt must state " + ", ".join(missing) + " (R2)",
        )
    ]


def _says_number(text: str, placeholder: str, number: str) -> bool:
    if "{" + placeholder + "}" in text:
        return True
    digits = "".join(ch for ch in number if ch.isdigit())
    spoken = "".join(ch for ch in text if ch.isdigit())
    return digits in spoken


def night_repair_findings(config: HotlineConfig, schedule: Schedule[OnCall]) -> list[Finding]:
    """R1 asks that repair calls are taken at once at night too; voicemail is not that."""
    if Service.repair not in config.menu.keys.values():
        return []
    if Service.repair in config.hotline.night_transfer:
        return []
    if all(hours >= 24 for hours in schedule.continuous_daily_hours(Service.repair).values()):
        return []
    return [
        Finding(
            "warning",
            "hotline.night_transfer",
            "repair is not in night_transfer: outside service hours a repair call gets the "
            "off-hours prompt and voicemail, not a person (R1 asks for repair calls to be "
            'taken at once at night; add "repair" if the on-call staff take them)',
        )
    ]


def describe_week_span(span: Span) -> str:
    """(minutes after Monday 00:00) -> "sat 00:00-08:00" or "fri 22:00-sat 06:00"."""
    start, end = span
    if end - start >= WEEK:
        return "the whole week"
    first_day, first_clock = _day_and_clock(start, at_end=False)
    last_day, last_clock = _day_and_clock(end, at_end=True)
    if first_day == last_day:
        return f"{first_day} {first_clock}-{last_clock}"
    return f"{first_day} {first_clock}-{last_day} {last_clock}"


def _day_and_clock(minute: int, at_end: bool) -> tuple[str, str]:
    # an end on midnight reads better as 24:00 of the day before
    if at_end and minute % DAY == 0:
        return DAY_NAMES[(minute // DAY - 1) % 7], "24:00"
    day, rest = divmod(minute % WEEK, DAY)
    return DAY_NAMES[day], f"{rest // 60:02d}:{rest % 60:02d}"


def summarize(config: HotlineConfig, findings: list[Finding]) -> str:
    """One line for `hotline check`: what the config sets up, and how many warnings."""
    weekly = ", ".join(f"{p.days} {p.start}-{p.end}" for p in config.hours.consultation)
    warnings = sum(1 for f in findings if f.level == "warning")
    return (
        f"{len(config.lines)} line(s), {len(config.agents)} agent(s), "
        f"{len(config.oncall)} on call; consultation {weekly}; {warnings} warning(s)"
    )
