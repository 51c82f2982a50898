"""The hotline configuration: one TOML file an administrator edits.

Everything is validated by pydantic; `load_config` turns validation errors into
`ConfigError` messages that name the field and the line of the file it came from.
"""

from __future__ import annotations

import ipaddress
import re
import string
import tomllib
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ivr.config_locate import locate_line
from ivr.domain.callback_cycle import CallbackRules
from ivr.domain.outbound import (
    DEFAULT_DOMESTIC,
    DEFAULT_INTERNATIONAL,
    DEFAULT_PER_DAY,
    DEFAULT_PER_TASK,
    DEFAULT_PREMIUM,
    OutboundRules,
    check_pattern,
)
from ivr.domain.overload import OverloadBounds
from ivr.domain.record import CountingRules
from ivr.domain.schedule import Calendar, Schedule
from ivr.domain.targets import Targets
from ivr.domain.vocabulary import DAY_NAMES, LineMode, Service

# What a text prompt may say in braces; the renderer fills them in.
ALL_LINES = "all"  # the name of every line together, in reports and /metrics
PROMPT_PLACEHOLDERS = ("name", "hours", "emergency_number", "repair_number")
# pydantic matches these (its regex engine's `$` is the end of the text); anything else
# must use fullmatch, never match with `$` (Python's `$` accepts a trailing newline)
DIGITS = re.compile(r"^[0-9]{2,20}$")
ENDPOINT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_days(spec: str) -> frozenset[int]:
    """'mon-fri,sun' -> {0,1,2,3,4,6} (Monday = 0)."""
    days: set[int] = set()
    for part in spec.lower().replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            first, last = part.split("-", 1)
            if first not in DAY_NAMES or last not in DAY_NAMES:
                raise ValueError(f"unknown day in {part!r}; use mon, tue, wed, thu, fri, sat, sun")
            a, b = DAY_NAMES.index(first), DAY_NAMES.index(last)
            span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
            days.update(span)
        else:
            if part not in DAY_NAMES:
                raise ValueError(f"unknown day {part!r}; use mon, tue, wed, thu, fri, sat, sun")
            days.add(DAY_NAMES.index(part))
    if not days:
        raise ValueError("no days given")
    return frozenset(days)


def _parse_clock(value: str) -> int:
    """'08:30' -> minutes after midnight; '24:00' is allowed as the end of the day."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a time of day like 08:00")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{value!r} is not a time of day between 00:00 and 24:00")
    return hours * 60 + minutes


class Period(Strict):
    """A weekly period: the given days, from `start` to `end` local time.

    An `end` before `start` runs past midnight into the next day.
    """

    days: str = "mon-sun"
    start: str = "00:00"
    end: str = "24:00"

    @field_validator("days")
    @classmethod
    def _days_valid(cls, value: str) -> str:
        _parse_days(value)
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock_valid(cls, value: str) -> str:
        _parse_clock(value)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Period:
        if self.start_minute == self.end_minute:
            raise ValueError(f"start and end are both {self.start}: the period is empty")
        return self

    @property
    def weekdays(self) -> frozenset[int]:
        return _parse_days(self.days)

    @property
    def start_minute(self) -> int:
        return _parse_clock(self.start)

    @property
    def end_minute(self) -> int:
        return _parse_clock(self.end)

    @property
    def start_time(self) -> time:
        return time(self.start_minute // 60, self.start_minute % 60)


class HotlineSection(Strict):
    name: str = "Gas hotline"
    timezone: str = "Asia/Shanghai"
    households: int = Field(ge=0, description="households served: decides the R3 minimum hours")
    new_company: bool = False
    ring_cadence_seconds: float = Field(default=5.0, gt=0, le=30)
    emergency_number: Annotated[str, Field(pattern=r"^[0-9-]{3,20}$")]
    repair_number: Annotated[str, Field(pattern=r"^[0-9-]{3,20}$")]
    night_transfer: tuple[Service, ...] = (Service.emergency,)

    @field_validator("timezone")
    @classmethod
    def _zone_known(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_DEFAULT = Targets()
Share = Annotated[float, Field(ge=0, le=1)]
Seconds = Annotated[float, Field(gt=0, le=3600)]


class TargetsSection(Strict):
    """`[targets]`: each SPEC §3 measure's target (defaults: the seeds and the industry)."""

    auto_answer: Share = _DEFAULT.auto_answer
    transfer_answer: Share = _DEFAULT.transfer_answer
    manual_answer: Share = _DEFAULT.manual_answer
    no_answer: Share = _DEFAULT.no_answer
    within_three_rings: Share = _DEFAULT.within_three_rings
    busy: Share = _DEFAULT.busy
    average_rings: Annotated[float, Field(ge=1, le=20)] = _DEFAULT.average_rings
    average_queue_seconds: Seconds = _DEFAULT.average_queue_seconds
    service_level: Share = _DEFAULT.service_level
    service_level_seconds: Seconds = _DEFAULT.service_level_seconds
    handling_min_seconds: Seconds = _DEFAULT.handling_min_seconds
    handling_max_seconds: Seconds = _DEFAULT.handling_max_seconds

    @model_validator(mode="after")
    def _band_ordered(self) -> TargetsSection:
        if self.handling_min_seconds > self.handling_max_seconds:
            raise ValueError("handling_min_seconds is above handling_max_seconds")
        return self

    @property
    def values(self) -> Targets:
        return Targets(**self.model_dump())


Port = Annotated[int, Field(ge=1, le=65535)]
LOOPBACK = Literal["127.0.0.1", "::1"]


# No "-": Asterisk joins systemname and the rest of a channel id with one.
SystemName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,19}$")]


class AsteriskSection(Strict):
    bind: LOOPBACK = "127.0.0.1"  # ARI, AMI and Asterisk's HTTP: loopback only
    # SIP is the one public face (carrier trunk, phones); loopback unless deployed
    sip_bind: str = "127.0.0.1"
    sip_port: Port = 5060
    http_port: Port = 8088
    ami_port: Port = 5038
    rtp_start: Port = 10000
    rtp_end: Port = 10999
    ari_app: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")] = "hotline"
    # Asterisk's `systemname`: the prefix of every channel id and linkedid it makes, so
    # two nodes' calls never share an id (set per node from `[[nodes]]`)
    systemname: SystemName | None = None

    @field_validator("sip_bind")
    @classmethod
    def _an_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IP address") from exc
        return value

    @model_validator(mode="after")
    def _rtp_range(self) -> AsteriskSection:
        if self.rtp_end <= self.rtp_start:
            raise ValueError("rtp_end must be above rtp_start")
        return self


class Node(Strict):
    """`[[nodes]]`: one Asterisk of several behind the SIP proxy, on the same config.

    Its ports replace `[asterisk]`'s; everything else (lines, hours, menu, staff) is
    the same on every node. No `[[nodes]]` is one node, `[asterisk]` as it is."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,12}$")]
    sip_port: Port
    http_port: Port
    ami_port: Port
    systemname: SystemName | None = None  # default: the node's name
    rtp_start: Port | None = None  # default: a share of [asterisk]'s range
    rtp_end: Port | None = None

    @property
    def system_name(self) -> str:
        return self.systemname or self.name


class ProxySection(Strict):
    """`[proxy]`: Kamailio in front of the nodes (only used with more than one node).

    It takes the callers' INVITEs on `sip_port` and hands each to a node that answers
    its OPTIONS probes; a node that fails a call is marked down and the call goes on to
    the next node."""

    bind: str = "127.0.0.1"
    sip_port: Port = 5060
    # dispatcher's ds_ping_interval: how often every node is probed with OPTIONS
    probe_interval_seconds: int = Field(default=2, ge=1, le=60)
    # failed probes before a node is taken out (ds_probing_threshold), and answered ones
    # before it is put back (ds_inactive_threshold)
    probe_threshold: int = Field(default=1, ge=1, le=10)
    recover_threshold: int = Field(default=1, ge=1, le=10)
    # how long the proxy waits for a node's first reply to an INVITE or a probe
    # (tm fr_timer); on loopback a live node answers in milliseconds
    reply_timeout_ms: int = Field(default=1000, ge=100, le=30000)

    @field_validator("bind")
    @classmethod
    def _an_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IP address") from exc
        return value


def _no_nul(value: Path) -> Path:
    """A path with a NUL byte cannot name a file (the OS refuses it): say so here."""
    if "\x00" in str(value):
        raise ValueError("the path contains a NUL byte")
    return value


class ServiceSection(Strict):
    bind: LOOPBACK = "127.0.0.1"
    http_port: Port = 9095
    fastagi_port: Port = 4573
    data_dir: Path = Path("var")
    database_url: str = ""
    # seconds between the journal's passes over Asterisk's own record (CEL, queue_log);
    # a pass also runs at start and after every AMI or ARI (re)connect
    reconcile_seconds: float = Field(default=30.0, ge=1.0, le=3600.0)
    # /docs and /redoc (their scripts served by the service itself, never from a CDN);
    # false in production turns the pages and their assets off
    docs: bool = True

    _data_dir_path = field_validator("data_dir")(_no_nul)


class Line(Strict):
    number: Annotated[str, Field(pattern=DIGITS.pattern)]
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")]
    mode: LineMode = LineMode.ivr
    capacity: int = Field(default=30, ge=1, le=10000)


class Hours(Strict):
    """Weekly service hours; services without their own entry use `consultation`."""

    consultation: tuple[Period, ...]
    repair: tuple[Period, ...] | None = None
    installation: tuple[Period, ...] | None = None
    billing: tuple[Period, ...] | None = None
    complaint: tuple[Period, ...] | None = None

    def for_service(self, service: Service) -> tuple[Period, ...]:
        if service is Service.emergency:
            return (Period(),)
        own = getattr(self, service.value, None) if service is not Service.person else None
        return own if own is not None else self.consultation


class HolidaysSection(Strict):
    country: str = "CN"
    public_holidays: bool = True
    closed: tuple[date, ...] = ()
    open: tuple[date, ...] = ()

    @field_validator("country")
    @classmethod
    def _country_known(cls, value: str) -> str:
        import holidays

        if value not in holidays.list_supported_countries():
            raise ValueError(f"no public holidays known for country {value!r}; use a code like CN")
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> HolidaysSection:
        both = set(self.closed) & set(self.open)
        if both:
            raise ValueError(f"dates listed as both closed and open: {sorted(both)}")
        return self


MenuKey = Annotated[str, Field(pattern=r"^[0-9*#]$")]


class Menu(Strict):
    keys: dict[MenuKey, Service]
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    retries: int = Field(default=2, ge=0, le=5)
    default: Service = Service.person
    # a key that plays `[prompts] announcement` (service hours, addresses ...): a caller
    # it answers hangs up satisfied, the call is `ivr_completed`
    announcement_key: MenuKey | None = None

    @field_validator("keys")
    @classmethod
    def _keys_present(cls, value: dict[str, Service]) -> dict[str, Service]:
        if not value:
            raise ValueError("the menu needs at least one key")
        return value

    @model_validator(mode="after")
    def _announcement_key_free(self) -> Menu:
        if self.announcement_key is not None and self.announcement_key in self.keys:
            raise ValueError(
                f"announcement_key {self.announcement_key!r} is also a key of menu.keys"
            )
        return self


class Prompt(Strict):
    """A recorded file, or a text rendered with espeak-ng."""

    text: str | None = None
    file: Path | None = None

    _file_path = field_validator("file")(_no_nul)

    @model_validator(mode="after")
    def _one_source(self) -> Prompt:
        if (self.text is None) == (self.file is None):
            raise ValueError("give exactly one of text or file")
        if self.text is not None and not self.text.strip():
            raise ValueError("text is empty")
        if self.text is not None:
            _check_placeholders(self.text)
        return self


def _check_placeholders(text: str) -> None:
    allowed = ", ".join("{" + name + "}" for name in PROMPT_PLACEHOLDERS)
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise ValueError(f"text has a stray brace ({exc}); placeholders are {allowed}") from exc
    unknown = [field for field in fields if field not in PROMPT_PLACEHOLDERS]
    if unknown:
        raise ValueError(f"unknown placeholder {{{unknown[0]}}} in text; use {allowed}")


class Prompts(Strict):
    greeting: Prompt
    menu: Prompt
    off_hours: Prompt
    invalid: Prompt
    voicemail: Prompt
    callback: Prompt
    queue: Prompt
    busy: Prompt | None = None
    announcement: Prompt | None = None  # played by `menu.announcement_key`
    recorded: Prompt | None = None  # "this call may be recorded", with `[recording] announce`
    # the optional post-call survey: after the agent hangs up, the caller presses 1-3
    survey: Prompt | None = None


class QueueSection(Strict):
    strategy: Literal["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear"] = (
        "rrmemory"
    )
    agent_ring_seconds: int = Field(default=15, ge=5, le=120)
    retry_seconds: int = Field(default=1, ge=0, le=60)
    wrapup_seconds: int = Field(default=5, ge=0, le=600)
    max_wait_seconds: int = Field(default=300, ge=10, le=3600)
    announce_position: bool = False


class VoicemailSection(Strict):
    max_seconds: int = Field(default=120, ge=5, le=600)
    silence_seconds: int = Field(default=5, ge=1, le=60)


class RecordingSection(Strict):
    """Calls answered by agents and on-call staff recorded (MixMonitor, started when the
    person answers, never before), kept `retention_days`, then deleted by a sweep."""

    enabled: bool = False
    services: tuple[Service, ...] = tuple(Service)  # the caller's service (menu choice)
    announce: bool = False  # plays `[prompts] recorded` before the person is rung
    retention_days: float = Field(default=90.0, gt=0, le=3650)
    sweep_seconds: float = Field(default=3600.0, ge=1, le=86400)

    @property
    def recorded_services(self) -> list[str]:
        return [service.value for service in self.services] if self.enabled else []


class NoticesSection(Strict):
    """Areas of outage notices: a notice may be for some areas only; after the notices for
    everyone, callers hear `notice_areas` (made from these names) and press their area's
    key to hear that area's notices."""

    areas: dict[Annotated[str, Field(pattern=r"^[1-9]$")],
                Annotated[str, Field(pattern=r"^[^{}]{1,20}$")]] = {}  # fmt: skip

    @property
    def area_prompt(self) -> Prompt | None:
        if not self.areas:
            return None
        choices = "，".join(f"{name}请按{key}" for key, name in sorted(self.areas.items()))
        return Prompt(text=f"查询您所在区域的停气通知，{choices}。")


class SpotcheckSection(Strict):
    """The prober (`hotline probe`): dials the public number like a group checker and
    scores the connection by the spot-check rule (SPEC R8)."""

    # What to dial: `{number}` is the line's number. The hotline's own public context by
    # default; through the carrier trunk once there is one, e.g. "PJSIP/{number}@carrier".
    dial: str = Field(default="Local/{number}@hotline-public", pattern=r"^[A-Za-z]+/[^\s,]+$")
    number: Annotated[str, Field(pattern=DIGITS.pattern)] | None = None  # default: 1st line
    checker: str = Field(default="prober", min_length=1, max_length=64)
    caller_id: Annotated[str, Field(pattern=DIGITS.pattern)] = "10000"
    redial_seconds: float = Field(default=180.0, ge=0.1, le=3600)  # the rule's 3 minutes
    ring_seconds: int = Field(default=60, ge=1, le=300)  # unanswered this long: no-answer
    # answered sooner than this: the IVR (a person's phone rings first, seconds at least)
    ivr_answer_seconds: float = Field(default=2.0, ge=0.1, le=30)
    every_minutes: float = Field(default=0.0, ge=0, le=7 * 24 * 60)  # 0: on demand only
class OverloadSection(Strict):
    """When the controller falls behind, new calls go at once to the dialplan's own
    menu (same greeting, menu, schedule and routes), counted in
    `hotline_calls_shed_total`. Normal load is far below these: at 50 calls/s each call
    spends ~10 s in the IVR, so ~500 are in flight; a StasisStart is read within
    milliseconds and a timer fires within a few."""

    enabled: bool = True
    max_start_age_ms: int = Field(default=500, ge=10, le=60_000)
    max_calls_in_flight: int = Field(default=1500, ge=1, le=100_000)
    max_loop_lag_ms: int = Field(default=250, ge=10, le=60_000)

    @property
    def bounds(self) -> OverloadBounds:
        return OverloadBounds(
            enabled=self.enabled,
            start_age_seconds=self.max_start_age_ms / 1000,
            calls_in_flight=self.max_calls_in_flight,
            loop_lag_seconds=self.max_loop_lag_ms / 1000,
        )


class Agent(Strict):
    name: str = Field(min_length=1, max_length=60)
    endpoint: Annotated[str, Field(pattern=ENDPOINT_ID.pattern)]
    contact: str | None = Field(default=None, pattern=r"^sip:[^\s\"<>]+$")


class OnCall(Strict):
    name: str = Field(min_length=1, max_length=60)
    endpoint: Annotated[str, Field(pattern=ENDPOINT_ID.pattern)]
    contact: str | None = Field(default=None, pattern=r"^sip:[^\s\"<>]+$")
    covers: tuple[Period, ...] = (Period(),)
    rings: int = Field(default=4, ge=1, le=20)


Prefix = Annotated[str, Field(pattern=r"^(\+|\+?[0-9]{1,8})$")]


class OutboundSection(Strict):
    """`[outbound]`: the toll-fraud guard on every number the hotline dials (callbacks).
    Only whole numbers by a `domestic` pattern are dialled; `international` and
    `premium` prefixes are refused by name; at most `per_task` originates for one task
    and `per_day` for the hotline in a local day."""

    domestic: tuple[str, ...] = Field(default=DEFAULT_DOMESTIC, min_length=1)
    international: tuple[Prefix, ...] = DEFAULT_INTERNATIONAL
    premium: tuple[Prefix, ...] = DEFAULT_PREMIUM
    per_task: int = Field(default=DEFAULT_PER_TASK, ge=1, le=20)
    per_day: int = Field(default=DEFAULT_PER_DAY, ge=1, le=100_000)

    @field_validator("domestic")
    @classmethod
    def _patterns_valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            check_pattern(pattern)
        return value

    @property
    def rules(self) -> OutboundRules:
        return OutboundRules(
            domestic=self.domestic,
            international=self.international,
            premium=self.premium,
            per_task=self.per_task,
            per_day=self.per_day,
        )


class CarrierSection(Strict):
    """`[carrier]`: the outbound PJSIP trunk call-backs are dialled through (endpoint
    `carrier`). `ip`: the carrier knows us by our address; `register`: we register
    with `username` and the password in `password_file` (mode 0600, never in this file).
    Calls go out with `caller_id` (default: the first line's number) as the caller ID."""

    mode: Literal["ip", "register"] = "ip"
    host: str
    port: Port = 5060
    caller_id: Annotated[str, Field(pattern=DIGITS.pattern)] | None = None
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]{1,64}$")] | None = None
    password_file: Path | None = None
    ring_seconds: int = Field(default=45, ge=5, le=120)

    _password_path = field_validator("password_file")(_no_nul)

    @field_validator("host")
    @classmethod
    def _host_valid(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}", value):
                raise ValueError(f"{value!r} is neither an IP address nor a host name") from None
        return value

    @model_validator(mode="after")
    def _registration_complete(self) -> CarrierSection:
        if self.mode == "register" and (self.username is None or self.password_file is None):
            raise ValueError("mode = \"register\" needs username and password_file")
        return self

    def password(self) -> str:
        """The registration password, from a file only its owner may read."""
        if self.password_file is None:
            return ""
        mode = self.password_file.stat().st_mode
        if mode & 0o077:
            raise ValueError(
                f"{self.password_file} is readable by others (mode {mode & 0o777:o}); "
                "chmod 600 it"
            )
        return self.password_file.read_text(encoding="utf-8").strip()


Department = Annotated[str, Field(min_length=1, max_length=64)]


class DepartmentsSection(Strict):
    """`[departments]`: the department each order-needing service's work orders go to
    (R6: 转单至相关部门)."""

    emergency: Department = "抢险中心"
    repair: Department = "维修部"
    installation: Department = "报装部"

    def as_map(self) -> dict[str, str]:
        return dict(self.model_dump())


class OutboxSection(Strict):
    """`[outbox]`: where work orders are handed off. A webhook (JSON, signed with
    HMAC-SHA256 under the secret in `webhook_secret_file`, 0600; default: one generated
    in data_dir) and/or e-mail over SMTP to each department's address in `mail_to`.
    Failed deliveries are retried with backoff (`retry_seconds`, doubling, at most
    `retry_max_seconds`); after `max_attempts` a message is dead (listed, counted)."""

    webhook_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] | None = None
    webhook_secret_file: Path | None = None
    smtp_host: str | None = None
    smtp_port: Port = 25
    mail_from: Annotated[str, Field(pattern=r"^[^\s@<>]+@[^\s@<>]+$")] = "hotline@localhost"
    mail_to: dict[str, Annotated[str, Field(pattern=r"^[^\s@<>]+@[^\s@<>]+$")]] = {}
    max_attempts: int = Field(default=8, ge=1, le=100)
    retry_seconds: float = Field(default=5.0, gt=0, le=3600)
    retry_max_seconds: float = Field(default=3600.0, gt=0, le=86400)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    _secret_path = field_validator("webhook_secret_file")(_no_nul)


class CallbacksSection(Strict):
    """`[callbacks]`: when callbacks are due (defaults: the seed, SPEC R7). Work orders:
    emergencies by `emergency_due_by` on the day they closed (closed after
    `afternoon_starts`: the next day), others within `others_within_days` of the work
    being done; complaints and paid work always, other orders when `call_back_others`.
    Calls: an emergency's callback within `emergency_hours`, a repair's
    `repair_hours`, any other `normal_hours` of the call."""

    afternoon_starts: str = "12:00"
    emergency_due_by: str = "18:00"
    others_within_days: int = Field(default=5, ge=1, le=60)
    always: tuple[Service, ...] = (Service.complaint, Service.emergency)
    call_back_others: bool = True
    emergency_hours: float = Field(default=1, gt=0, le=240)
    repair_hours: float = Field(default=24, gt=0, le=720)
    normal_hours: float = Field(default=48, gt=0, le=720)

    @field_validator("afternoon_starts", "emergency_due_by")
    @classmethod
    def _clock_valid(cls, value: str) -> str:
        if _parse_clock(value) >= 24 * 60:
            raise ValueError(f"{value!r} must be before 24:00")
        return value

    @property
    def rules(self) -> CallbackRules:
        def clock(text: str) -> time:
            minutes = _parse_clock(text)
            return time(minutes // 60, minutes % 60)

        return CallbackRules(
            afternoon_starts=clock(self.afternoon_starts),
            emergency_due_by=clock(self.emergency_due_by),
            others_within=timedelta(days=self.others_within_days),
            always=tuple(service.value for service in self.always),
            call_back_others=self.call_back_others,
        )


class HotlineConfig(Strict):
    hotline: HotlineSection
    targets: TargetsSection = TargetsSection()
    asterisk: AsteriskSection = AsteriskSection()
    service: ServiceSection = ServiceSection()
    lines: tuple[Line, ...] = Field(min_length=1)
    hours: Hours
    holidays: HolidaysSection = HolidaysSection()
    menu: Menu
    prompts: Prompts
    queue: QueueSection = QueueSection()
    voicemail: VoicemailSection = VoicemailSection()
    recording: RecordingSection = RecordingSection()
    notices: NoticesSection = NoticesSection()
    spotcheck: SpotcheckSection = SpotcheckSection()
    overload: OverloadSection = OverloadSection()
    agents: tuple[Agent, ...] = ()
    oncall: tuple[OnCall, ...] = ()
    nodes: tuple[Node, ...] = ()
    proxy: ProxySection = ProxySection()
    outbound: OutboundSection = OutboundSection()
    carrier: CarrierSection | None = None
    departments: DepartmentsSection = DepartmentsSection()
    outbox: OutboxSection = OutboxSection()
    callbacks: CallbacksSection = CallbacksSection()

    @cached_property
    def schedule(self) -> Schedule[OnCall]:
        """Hours, holidays and the on-call roster of this config, as the domain reads them."""
        return Schedule(
            Calendar(
                zone=self.hotline.zone,
                hours={
                    service: self.hours.for_service(service)
                    for service in Service
                    if service is not Service.emergency
                },
                roster=self.oncall,
                closed=frozenset(self.holidays.closed),
                open=frozenset(self.holidays.open),
                public_holidays_of=(
                    self.holidays.country if self.holidays.public_holidays else None
                ),
            )
        )

    @property
    def counting_rules(self) -> CountingRules:
        """What the SPEC §3 measures of a call depend on in this config."""
        return CountingRules(
            cadence_seconds=self.hotline.ring_cadence_seconds,
            service_level_seconds=self.targets.service_level_seconds,
            wrapup_seconds=float(self.queue.wrapup_seconds),
        )

    @model_validator(mode="after")
    def _unique_names(self) -> HotlineConfig:
        _require_unique("lines", [line.number for line in self.lines], "number")
        _require_unique("lines", [line.name for line in self.lines], "name")
        endpoints = [a.endpoint for a in self.agents] + [o.endpoint for o in self.oncall]
        _require_unique("agents/oncall", endpoints, "endpoint")
        reserved = {"public", "anonymous", "dialplan_only"}
        clash = reserved & set(endpoints)
        if clash:
            raise ValueError(f"endpoint names {sorted(clash)} are reserved")
        if any(line.name == ALL_LINES for line in self.lines):
            raise ValueError(
                f"a line may not be named {ALL_LINES!r}: reports and /metrics use it for "
                "all lines together"
            )
        if "carrier" in endpoints:
            raise ValueError("endpoint name 'carrier' is the [carrier] trunk's")
        if self.menu.announcement_key is not None and self.prompts.announcement is None:
            raise ValueError("menu.announcement_key needs a [prompts] announcement")
        self._check_nodes()
        if self.recording.enabled and self.recording.announce and self.prompts.recorded is None:
            raise ValueError("recording.announce needs a [prompts] recorded")
        return self

    def _check_nodes(self) -> None:
        if not self.nodes:
            return
        _require_unique("nodes", [node.name for node in self.nodes], "name")
        _require_unique("nodes", [node.system_name for node in self.nodes], "systemname")
        ports = [(f"nodes.{n.name}.{k}", getattr(n, k)) for n in self.nodes
                 for k in ("sip_port", "http_port", "ami_port")]
        if len(self.nodes) > 1:
            ports.append(("proxy.sip_port", self.proxy.sip_port))
        ports += [("service.http_port", self.service.http_port),
                  ("service.fastagi_port", self.service.fastagi_port)]
        seen: dict[int, str] = {}
        for where, port in ports:
            if port in seen:
                raise ValueError(f"{where} {port} is also {seen[port]}")
            seen[port] = where
        for node in self.nodes:
            if (node.rtp_start is None) != (node.rtp_end is None):
                raise ValueError(f"nodes.{node.name}: give both rtp_start and rtp_end, or neither")
            if node.rtp_start is not None and node.rtp_end is not None \
                    and node.rtp_end <= node.rtp_start:
                raise ValueError(f"nodes.{node.name}: rtp_end must be above rtp_start")

    @property
    def node_names(self) -> dict[str, str]:
        """systemname -> node name, for the journal (empty with one unnamed node)."""
        return {node.system_name: node.name for node in self.nodes}

    def for_node(self, node: Node) -> HotlineConfig:
        """This config as node `node`'s Asterisk runs it: its own ports, RTP share and
        systemname; the rest is the same on every node."""
        index = self.nodes.index(node)
        a = self.asterisk
        if node.rtp_start is not None and node.rtp_end is not None:
            rtp = (node.rtp_start, node.rtp_end)
        else:  # an equal share of [asterisk]'s range, so nodes on one host never collide
            share = (a.rtp_end - a.rtp_start + 1) // len(self.nodes)
            start = a.rtp_start + index * share
            rtp = (start, start + share - 1)
        asterisk = a.model_copy(update={
            "sip_port": node.sip_port, "http_port": node.http_port, "ami_port": node.ami_port,
            "rtp_start": rtp[0], "rtp_end": rtp[1], "systemname": node.system_name,
        })
        return self.model_copy(update={"asterisk": asterisk})

    def with_nodes(self, count: int) -> HotlineConfig:
        """`hotline run --nodes N` on a config with fewer `[[nodes]]`: the missing nodes
        made up next to `[asterisk]`'s ports (node i on each port + i), and the proxy
        takes `[asterisk] sip_port`, the number callers already reach."""
        if count < 1:
            raise ValueError("--nodes needs at least 1")
        if len(self.nodes) >= count:
            return self.model_copy(update={"nodes": self.nodes[:count]})
        a = self.asterisk
        nodes = list(self.nodes)
        for i in range(len(nodes), count):
            name = "abcdefghijklmnopqrstuvwxyz"[i] if i < 26 else f"n{i}"
            nodes.append(Node(name=name, sip_port=a.sip_port + 1 + i,
                              http_port=a.http_port + 1 + i, ami_port=a.ami_port + 1 + i))
        proxy = self.proxy.model_copy(update={"sip_port": a.sip_port, "bind": a.sip_bind})
        update: dict[str, Any] = {"nodes": tuple(nodes)}
        if count > 1 and not self.nodes:
            update["proxy"] = proxy
        return HotlineConfig.model_validate({**self.model_dump(), **update})

    def person_name(self, endpoint: str | None) -> str | None:
        """The configured name of an agent or on-call person (the journal keeps their
        endpoint ids); an id the config no longer knows is shown as it is."""
        if endpoint is None:
            return None
        return self._names.get(endpoint, endpoint)

    @cached_property
    def _names(self) -> dict[str, str]:
        names = {agent.endpoint: agent.name for agent in self.agents}
        names.update((person.endpoint, person.name) for person in self.oncall)
        return names

    @property
    def outbound_caller_id(self) -> str:
        """The number call-backs show: [carrier] caller_id, else the first line's."""
        if self.carrier is not None and self.carrier.caller_id:
            return self.carrier.caller_id
        return self.lines[0].number

    def line_by_number(self, number: str) -> Line | None:
        return next((line for line in self.lines if line.number == number), None)

    def line_by_name(self, name: str) -> Line | None:
        return next((line for line in self.lines if line.name == name), None)


def _require_unique(where: str, values: list[str], field: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{where}: {field} {value!r} appears twice")
        seen.add(value)


class ConfigError(Exception):
    """The configuration file is unusable; `problems` are human sentences."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


def parse_config(text: str, path: Path = Path("<config>")) -> HotlineConfig:
    too_deep = "the TOML is nested too deeply (arrays or tables inside each other)"
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from exc
    except RecursionError as exc:
        raise ConfigError(path, [too_deep]) from exc
    try:
        return HotlineConfig.model_validate(raw)
    except RecursionError as exc:
        raise ConfigError(path, [too_deep]) from exc
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(part) for part in loc) or "(top level)"
            line = locate_line(text, loc)
            where = f"line {line}: " if line else ""
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}{field}: {message}")
        raise ConfigError(path, problems) from exc


def load_config(path: Path) -> HotlineConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [f"cannot read the file: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"the file is not UTF-8 text: {exc.reason}"]) from exc
    return load_config_text(text, path)


def load_config_text(text: str, path: Path) -> HotlineConfig:
    """The configuration `text` as `load_config` would read it from a file at `path`
    (relative data_dir and prompt files resolved against path's directory); nothing is
    written or read besides the text."""
    config = parse_config(text, path)
    try:
        return _resolve_paths(config, path.parent)
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, say
        raise ConfigError(path, [f"a path in the file cannot be resolved: {exc}"]) from exc


def _resolve_paths(config: HotlineConfig, base: Path) -> HotlineConfig:
    if not config.service.data_dir.is_absolute():
        data_dir = (base / config.service.data_dir).resolve()
        service = config.service.model_copy(update={"data_dir": data_dir})
        config = config.model_copy(update={"service": service})
    carrier = config.carrier
    if carrier is not None and carrier.password_file and not carrier.password_file.is_absolute():
        resolved = carrier.model_copy(
            update={"password_file": (base / carrier.password_file).resolve()}
        )
        config = config.model_copy(update={"carrier": resolved})
    outbox = config.outbox
    secret = outbox.webhook_secret_file
    if secret is not None and not secret.is_absolute():
        absolute = outbox.model_copy(update={"webhook_secret_file": (base / secret).resolve()})
        config = config.model_copy(update={"outbox": absolute})
    # recorded prompt files, like data_dir, are relative to the config file
    recorded = {
        name: prompt.model_copy(update={"file": (base / prompt.file).resolve()})
        for name, prompt in config.prompts
        if isinstance(prompt, Prompt) and prompt.file is not None and not prompt.file.is_absolute()
    }
    if recorded:
        config = config.model_copy(update={"prompts": config.prompts.model_copy(update=recorded)})
    return config
