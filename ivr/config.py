"""The hotline configuration: one TOML file an administrator edits.

Everything is validated by pydantic; `load_config` turns validation errors into
`ConfigError` messages that name the field and the line of the file it came from.
"""

from __future__ import annotations

import ipaddress
import re
import string
import tomllib
from datetime import date, time
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
    agents: tuple[Agent, ...] = ()
    oncall: tuple[OnCall, ...] = ()

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
        if self.menu.announcement_key is not None and self.prompts.announcement is None:
            raise ValueError("menu.announcement_key needs a [prompts] announcement")
        return self

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
    # recorded prompt files, like data_dir, are relative to the config file
    recorded = {
        name: prompt.model_copy(update={"file": (base / prompt.file).resolve()})
        for name, prompt in config.prompts
        if isinstance(prompt, Prompt) and prompt.file is not None and not prompt.file.is_absolute()
    }
    if recorded:
        config = config.model_copy(update={"prompts": config.prompts.model_copy(update=recorded)})
    return config
