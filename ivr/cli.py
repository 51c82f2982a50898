"""The `hotline` command: thin typer commands over the services."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from ivr.config import ConfigError, HotlineConfig, load_config

if TYPE_CHECKING:
    from ivr.auth.tokens import TokenInfo

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="Gas hotline IVR service on Asterisk.")

CONFIG_OPTION = typer.Option(
    Path("hotline.toml"), "--config", "-c", envvar="HOTLINE_CONFIG", help="the hotline config file"
)


def config_or_exit(path: Path) -> HotlineConfig:
    """Load the configuration, or print every problem and exit with status 2."""
    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(f"{exc.path}: the configuration is not valid:", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2) from exc


def checked_config_or_exit(path: Path) -> HotlineConfig:
    """`config_or_exit`, then everything else the config needs (recorded prompt files
    inside the config's directory or the data dir and decodable, Asterisk's config
    rendering): every problem printed, exit status 2."""
    import asyncio

    from ivr.config_preflight import preflight

    config = config_or_exit(path)
    problems = asyncio.run(preflight(config, path))
    if problems:
        typer.echo(f"{path}: the configuration cannot be used:", err=True)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2)
    return config


asterisk_app = typer.Typer(no_args_is_help=True, help="The Asterisk the hotline runs on.")
app.add_typer(asterisk_app, name="asterisk")


@asterisk_app.command("provision")
def asterisk_provision(
    sandbox: bool = typer.Option(False, help="build/use the Debian sid root even if "
                                 "the system has an Asterisk"),
) -> None:
    """Make Asterisk 22 available: the system's own, or a cached Debian sid root."""
    from ivr.asterisk.sandbox import ProvisionError, provision

    try:
        install = provision(prefer_system=not sandbox)
    except ProvisionError as exc:
        typer.echo(f"cannot provision Asterisk: {exc}", err=True)
        raise typer.Exit(1) from exc
    where = "system" if not install.chrooted else str(install.root)
    typer.echo(f"{install.version} ({where})")


def run_asterisk_command(work: Coroutine[Any, Any, T]) -> T:
    """Run an `asterisk` sub-command; anything that stops it exits 1 with the reason."""
    import asyncio

    from ivr.asterisk.instance import AsteriskStartError
    from ivr.asterisk.sandbox import ProvisionError
    from ivr.ports import PortsTaken
    from ivr.standalone import AsteriskCommandError

    try:
        return asyncio.run(work)
    except (AsteriskCommandError, AsteriskStartError, ProvisionError, PortsTaken) as exc:
        typer.echo(f"hotline asterisk: {exc}", err=True)
        raise typer.Exit(1) from exc


@asterisk_app.command("start")
def asterisk_start(config_path: Path = CONFIG_OPTION) -> None:
    """Start Asterisk on its own: it keeps running when `hotline run` stops or restarts."""
    from ivr import standalone as commands

    config = config_or_exit(config_path)
    typer.echo(run_asterisk_command(commands.start(config, config_path)))


@asterisk_app.command("stop")
def asterisk_stop(config_path: Path = CONFIG_OPTION) -> None:
    """Stop this hotline's Asterisk (ends the calls on it)."""
    from ivr import standalone as commands

    config = config_or_exit(config_path)
    typer.echo(run_asterisk_command(commands.stop(config)))


@asterisk_app.command("status")
def asterisk_status(config_path: Path = CONFIG_OPTION) -> None:
    """Whether this hotline's Asterisk runs (pid, who started it, version, calls);
    exit status 3 when it does not."""
    from ivr import standalone as commands

    config = config_or_exit(config_path)
    result = run_asterisk_command(commands.status(config))
    typer.echo(result.text)
    if not result.running:
        raise typer.Exit(3)


@app.command()
def render(config_path: Path = CONFIG_OPTION) -> None:
    """Render the Asterisk configuration for the config file and print where it went."""
    import asyncio

    from ivr.app import AsteriskStack
    from ivr.asterisk.instance import Instance
    from ivr.asterisk.sandbox import provision

    config = config_or_exit(config_path)
    stack = AsteriskStack(config, config_path)
    stack.install = provision()
    stack.instance = Instance.create(stack.install, stack.name, config.service.data_dir)
    asyncio.run(stack.render(config))
    typer.echo(str(stack.instance.etc))


@app.command()
def run(
    config_path: Path = CONFIG_OPTION,
    nodes: int | None = typer.Option(
        None, min=1, max=8,
        help="run this many Asterisk nodes behind Kamailio (default: the config's "
        "[[nodes]], else one); nodes the config does not name sit next to [asterisk]'s "
        "ports, and the proxy takes [asterisk] sip_port",
    ),
) -> None:
    """Run the hotline: Asterisk and the service, until Ctrl-C. An Asterisk already
    running for this instance is attached to (`hotline asterisk start`) or adopted
    (left by a crashed run), and said so; a start that fails exits 1 with the reason."""
    import asyncio

    from ivr.runner import run_hotline

    config = checked_config_or_exit(config_path)
    raise typer.Exit(asyncio.run(run_hotline(config, config_path, nodes)))


@app.command()
def reload(
    config_path: Path = CONFIG_OPTION,
    wait: float = typer.Option(60.0, help="seconds to wait for the running hotline's answer"),
) -> None:
    """Check the config and make the running hotline take it (new calls only).
    Exit status 2: the config is refused (nothing changed); 1: no running hotline, or it
    could not apply the config (it keeps the running one)."""
    import signal
    import time

    from ivr.config_apply import read_result, result_path
    from ivr.pidfile import PID_NAME, NotRunning, signal_owner

    config = checked_config_or_exit(config_path)
    data_dir = config.service.data_dir
    pid_file = data_dir / PID_NAME
    try:
        before = result_path(data_dir).stat().st_mtime_ns
    except OSError:
        before = 0
    try:  # only a pid whose file a live hotline holds locked: never a stranger
        pid = signal_owner(pid_file, signal.SIGHUP)
    except (NotRunning, OSError) as exc:
        typer.echo(f"hotline reload: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"reload requested (pid {pid})")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            changed = result_path(data_dir).stat().st_mtime_ns != before
        except OSError:
            changed = False
        result = read_result(data_dir) if changed else None
        if result is not None:
            if result.ok:
                typer.echo("configuration reloaded")
                return
            typer.echo("the running hotline refused it and keeps its configuration:", err=True)
            for problem in result.problems:
                typer.echo(f"  - {problem}", err=True)
            raise typer.Exit(1)
        time.sleep(0.2)
    typer.echo(f"no answer from the running hotline in {wait:.0f} s", err=True)
    raise typer.Exit(1)


@app.command()
def check(config_path: Path = CONFIG_OPTION) -> None:
    """Check the config against the hotline rules (R1-R3); exit status 1 on any error."""
    from ivr.compliance import check_compliance, has_errors, summarize

    config = checked_config_or_exit(config_path)
    findings = check_compliance(config)
    for finding in findings:
        typer.echo(f"{finding.level}: {finding.field}: {finding.message}")
    if has_errors(findings):
        errors = sum(1 for f in findings if f.level == "error")
        typer.echo(f"{config_path}: {errors} error(s): the hotline breaks its rules", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {summarize(config, findings)}")


@app.command()
def calls(
    config_path: Path = CONFIG_OPTION,
    since: str | None = typer.Option(
        None, help="local date or time, e.g. 2026-11-03 or 2026-11-03T08:00"
    ),
    line: str | None = typer.Option(None, help="only this line (its name)"),
    outcome: str | None = typer.Option(
        None, help="answered_by_agent, answered_by_oncall, voicemail, ivr_completed, "
        "abandoned, busy or failed"
    ),
    callbacks: bool = typer.Option(False, "--callbacks", help="only calls owed a callback"),
    limit: int = typer.Option(50, min=1, max=100_000, help="at most this many, newest first"),
    fmt: str = typer.Option("text", "--format", help="text, json or csv"),
) -> None:
    """Recent calls from the journal, newest first (json and csv: for scripts)."""
    import asyncio

    from ivr.journal.commands import JournalUnavailable, list_calls

    if fmt not in ("text", "json", "csv"):
        typer.echo("hotline calls: --format is text, json or csv", err=True)
        raise typer.Exit(2)
    config = config_or_exit(config_path)
    try:
        text = asyncio.run(list_calls(config, since, line, outcome, callbacks, limit, fmt))
    except ValueError as exc:
        typer.echo(f"hotline calls: {exc}", err=True)
        raise typer.Exit(2) from exc
    except JournalUnavailable as exc:
        typer.echo(f"hotline calls: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(text)


REPORT_OUTPUT = typer.Option(None, "--output", "-o", help="write the document to this file")


@app.command()
def report(
    config_path: Path = CONFIG_OPTION,
    day: str | None = typer.Option(None, help="a local day, YYYY-MM-DD"),
    week: str | None = typer.Option(None, help="an ISO week, YYYY-Www (e.g. 2026-W45)"),
    month: str | None = typer.Option(None, help="a local month, YYYY-MM"),
    line: str | None = typer.Option(None, help="only this line (its name)"),
    fmt: str = typer.Option(
        "text", "--format", help="text, json, csv, html or pdf (week and month documents)"
    ),
    output: Path | None = REPORT_OUTPUT,
) -> None:
    """The connection-rate report (SPEC §3) of a day, a week or a month against the
    targets; for a week or a month also the report document (heatmaps, distributions,
    callbacks, the forecast against what happened) as text, JSON, CSV, HTML or PDF."""
    import asyncio

    from ivr.journal.commands import JournalUnavailable, period_report
    from ivr.reporting.render import FORMATS

    if sum(x is not None for x in (day, week, month)) != 1:
        typer.echo("hotline report: give exactly one of --day YYYY-MM-DD, --week YYYY-Www "
                   "or --month YYYY-MM", err=True)
        raise typer.Exit(2)
    if fmt not in FORMATS or (day is not None and fmt != "text"):
        typer.echo(f"hotline report: --format is one of {', '.join(FORMATS)} "
                   "(a day: text only)", err=True)
        raise typer.Exit(2)
    if fmt in ("html", "pdf") and output is None:
        typer.echo(f"hotline report: a {fmt} document needs --output FILE", err=True)
        raise typer.Exit(2)
    config = config_or_exit(config_path)
    try:
        if day is not None:
            data = asyncio.run(period_report(config, day=day, month=None, line=line)).encode()
        else:
            from ivr.reporting.commands import report_document
            from ivr.reporting.document import Kind

            kind: Kind = "week" if week is not None else "month"
            label = week if week is not None else month
            assert label is not None
            data = asyncio.run(report_document(config, kind, label, fmt, line))
    except ValueError as exc:
        typer.echo(f"hotline report: {exc}", err=True)
        raise typer.Exit(2) from exc
    except JournalUnavailable as exc:
        typer.echo(f"hotline report: {exc}", err=True)
        raise typer.Exit(1) from exc
    if output is not None:
        output.write_bytes(data)
        typer.echo(f"{output}: {len(data)} bytes ({fmt})", err=True)
    else:
        typer.echo(data.decode("utf-8"))


ROSTER_OPTION = typer.Option(
    None, help="roster CSV (date,start,end,agent); default data_dir/rosters/<month>.csv"
)
FORECAST_CSV_OPTION = typer.Option(None, "--csv", help="also write every half hour here")


@app.command()
def forecast(
    month: str = typer.Option(..., help="the local month to staff, YYYY-MM"),
    weeks: int = typer.Option(8, min=1, max=104, help="weeks of history to learn from"),
    roster: Path | None = ROSTER_OPTION,
    csv_out: Path | None = FORECAST_CSV_OPTION,
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Agents needed per half hour of a month (R9, Erlang C) from the journal's history;
    with a roster, the half hours it leaves short. Exit status 1 when the roster is short."""
    import asyncio
    from datetime import UTC, datetime

    from ivr.domain.roster import RosterError
    from ivr.journal.commands import JournalUnavailable
    from ivr.journal.forecast import forecast_command

    config = config_or_exit(config_path)
    try:
        result = asyncio.run(forecast_command(
            config, month, datetime.now(UTC), weeks=weeks, roster=roster, csv_out=csv_out
        ))
    except (ValueError, OSError) as exc:  # RosterError is a ValueError
        kind = "roster" if isinstance(exc, RosterError | OSError) else "forecast"
        typer.echo(f"hotline forecast: {kind}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except JournalUnavailable as exc:
        typer.echo(f"hotline forecast: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(result.table)
    if result.shortfalls:
        raise typer.Exit(1)


journal_app = typer.Typer(no_args_is_help=True, help="The call journal's own upkeep.")
app.add_typer(journal_app, name="journal")


@journal_app.command("refold")
def journal_refold(config_path: Path = CONFIG_OPTION) -> None:
    """Fold every stored call again from its events (after new counting rules or a new
    ring cadence, service level or wrap-up time) and rebuild the rollups."""
    import asyncio

    from ivr.journal.commands import JournalUnavailable, refold_journal

    config = config_or_exit(config_path)
    try:
        calls = asyncio.run(refold_journal(config))
    except JournalUnavailable as exc:
        typer.echo(f"hotline journal refold: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{calls} call(s) folded again; the reports and /metrics now follow them")


token_app = typer.Typer(no_args_is_help=True, help="API tokens (stored hashed; shown once).")
app.add_typer(token_app, name="token")


def run_token_command(command: str, work: Coroutine[Any, Any, T]) -> T:
    """Run a token command; a refused token exits 2, an unreachable database 1."""
    import asyncio

    from ivr.auth.commands import DatabaseUnavailable
    from ivr.auth.tokens import TokenError

    try:
        return asyncio.run(work)
    except TokenError as exc:
        typer.echo(f"hotline token {command}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except DatabaseUnavailable as exc:
        typer.echo(f"hotline token {command}: {exc}", err=True)
        raise typer.Exit(1) from exc


EXPIRES_HELP = "lifetime, e.g. 90d, 12w, 36h (default: never expires)"


def lifetime_or_exit(expires: str | None) -> timedelta | None:
    from ivr.auth.durations import parse_duration

    if expires is None:
        return None
    try:
        return parse_duration(expires)
    except ValueError as exc:
        typer.echo(f"--expires: {exc}", err=True)
        raise typer.Exit(2) from exc


def _expiry(info: TokenInfo) -> str:
    when = info.expires_at
    return f"expires {when:%Y-%m-%d %H:%M} UTC" if when else "never expires"


@token_app.command("create")
def token_create(
    role: str = typer.Option(
        ..., help="viewer (numbers masked), agent (work orders of their calls; name the "
        "token as the agent's endpoint), supervisor (reads), admin"
    ),
    name: str = typer.Option(..., help="who or what holds it, e.g. wallboard or alice"),
    expires: str | None = typer.Option(None, help=EXPIRES_HELP),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Create an API token and print it: this is the only time it is shown."""
    from ivr.auth.commands import create_token

    lifetime = lifetime_or_exit(expires)
    config = config_or_exit(config_path)
    issued = run_token_command("create", create_token(config, name, role, lifetime))
    typer.echo(issued.secret)
    typer.echo(
        f"token {issued.info.id} {issued.info.name!r} ({issued.info.role.value}, "
        f"{_expiry(issued.info)}); keep it now, it is not shown again",
        err=True,
    )


@token_app.command("rotate")
def token_rotate(
    which: str = typer.Argument(..., help="the token's id or name"),
    expires: str | None = typer.Option(
        None, help="lifetime of the new token (default: the old token's lifetime)"
    ),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Replace a token by a new one (same name and role) and revoke the old one at once;
    prints the new token: this is the only time it is shown."""
    from ivr.auth.commands import rotate_token

    lifetime = lifetime_or_exit(expires)
    config = config_or_exit(config_path)
    old, issued = run_token_command("rotate", rotate_token(config, which, lifetime))
    typer.echo(issued.secret)
    typer.echo(
        f"token {issued.info.id} {issued.info.name!r} ({issued.info.role.value}, "
        f"{_expiry(issued.info)}) replaces token {old.id}, revoked now; "
        "keep it now, it is not shown again",
        err=True,
    )


@token_app.command("list")
def token_list(
    all_: bool = typer.Option(False, "--all", help="revoked tokens too"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """The API tokens (never the tokens themselves: their first characters)."""
    from ivr.auth.commands import list_tokens, render_tokens

    config = config_or_exit(config_path)
    typer.echo(render_tokens(run_token_command("list", list_tokens(config, all_))))


@token_app.command("revoke")
def token_revoke(
    which: str = typer.Argument(..., help="the token's id or name"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Revoke an API token at once."""
    from ivr.auth.commands import revoke_token

    config = config_or_exit(config_path)
    for info in run_token_command("revoke", revoke_token(config, which)):
        typer.echo(f"revoked token {info.id} {info.name!r} ({info.role.value})")


notices_app = typer.Typer(no_args_is_help=True, help="Outage notices (停气公告) callers hear.")
app.add_typer(notices_app, name="notices")


def run_notices_command(command: str, work: Coroutine[Any, Any, T]) -> T:
    """Run a notices command; a refused notice exits 2, an unreachable database 1."""
    import asyncio

    from ivr.domain.notices import NoticeInvalid
    from ivr.journal.commands import JournalUnavailable
    from ivr.notices.store import NoticeNotFound

    try:
        return asyncio.run(work)
    except (NoticeInvalid, NoticeNotFound, ValueError) as exc:
        typer.echo(f"hotline notices {command}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except JournalUnavailable as exc:
        typer.echo(f"hotline notices {command}: {exc}", err=True)
        raise typer.Exit(1) from exc


AREA_OPTION = typer.Option(None, help="only for callers of this area's menu key (repeatable)")


@notices_app.command("add")
def notices_add(
    text: str | None = typer.Option(None, help="what callers hear (spoken by the prompts' voice)"),
    file: str | None = typer.Option(None, help="or a recorded file in the data dir"),
    starts: str | None = typer.Option(None, "--from", help="local time it starts (default now)"),
    until: str | None = typer.Option(None, help="local time it ends, e.g. 2026-12-01T18:00"),
    hours: float | None = typer.Option(None, help="or how many hours it plays"),
    area: list[str] | None = AREA_OPTION,
    by: str = typer.Option("cli", help="who posts it"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Post an outage notice: it plays right after the greeting, then the menu goes on."""
    from ivr.notices.commands import add_notice

    config = config_or_exit(config_path)
    notice = run_notices_command("add", add_notice(
        config, config_path, text=text, file=file, starts=starts, ends=until, hours=hours,
        areas=area or [], by=by,
    ))  # fmt: skip
    zone = config.hotline.zone
    typer.echo(
        f"notice {notice.id} plays from {notice.starts_at.astimezone(zone):%Y-%m-%d %H:%M} "
        f"until {notice.ends_at.astimezone(zone):%Y-%m-%d %H:%M}"
    )


@notices_app.command("list")
def notices_list(
    all_: bool = typer.Option(False, "--all", help="expired and ended ones too"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """The notices, with the calls that heard each and those that still asked for a person."""
    from ivr.notices.commands import list_notices

    config = config_or_exit(config_path)
    typer.echo(run_notices_command("list", list_notices(config, config_path, all_)))


@notices_app.command("end")
def notices_end(
    notice_id: int = typer.Argument(..., help="the notice's id"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """End a notice now."""
    from ivr.notices.commands import end_notice

    config = config_or_exit(config_path)
    notice = run_notices_command("end", end_notice(config, config_path, notice_id))
    typer.echo(f"notice {notice.id} ended")


quality_app = typer.Typer(no_args_is_help=True, help="Quality scores of recorded calls.")
app.add_typer(quality_app, name="quality")


def run_quality_command(command: str, work: Coroutine[Any, Any, T]) -> T:
    import asyncio

    from ivr.domain.quality import QualityInvalid
    from ivr.journal.commands import JournalUnavailable
    from ivr.recording.service import RecordingNotFound

    try:
        return asyncio.run(work)
    except (QualityInvalid, RecordingNotFound, ValueError) as exc:
        typer.echo(f"hotline quality {command}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except JournalUnavailable as exc:
        typer.echo(f"hotline quality {command}: {exc}", err=True)
        raise typer.Exit(1) from exc


@quality_app.command("score")
def quality_score(
    linkedid: str = typer.Argument(..., help="the call's linkedid"),
    phrases: int = typer.Option(..., help="service phrases 服务用语, 0-20", min=0, max=20),
    attitude: int = typer.Option(..., help="attitude 服务态度, 0-20", min=0, max=20),
    responsibility: int = typer.Option(..., help="first-contact responsibility, 0-20",
                                       min=0, max=20),
    professionalism: int = typer.Option(..., help="professionalism 专业性, 0-20", min=0, max=20),
    remarks: str = typer.Option("", help="what was good, what was missing"),
    by: str = typer.Option(..., help="the supervisor who listened"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Score a call a person answered on the seed's form (four items, 20 points each)."""
    from ivr.domain.quality import QualityInvalid, Scores
    from ivr.recording.commands import render_score, score_call

    config = config_or_exit(config_path)
    try:
        scores = Scores(phrases, attitude, responsibility, professionalism)
    except QualityInvalid as exc:
        typer.echo(f"hotline quality score: {exc}", err=True)
        raise typer.Exit(2) from exc
    stored = run_quality_command("score", score_call(config, linkedid, scores, by, remarks))
    typer.echo(render_score(stored))


@quality_app.command("month")
def quality_month(
    month: str = typer.Argument(..., help="the calls' local month, e.g. 2026-11"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Average points per agent and per item over a month's scored calls."""
    from ivr.recording.commands import month_averages

    config = config_or_exit(config_path)
    typer.echo(run_quality_command("month", month_averages(config, month)))


def run_spotcheck_command(command: str, work: Coroutine[Any, Any, T]) -> T:
    import asyncio

    from ivr.domain.spotcheck import SpotCheckInvalid
    from ivr.journal.commands import JournalUnavailable
    from ivr.spotchecks.prober import ProbeFailed

    try:
        return asyncio.run(work)
    except (SpotCheckInvalid, ValueError) as exc:
        typer.echo(f"hotline {command}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (JournalUnavailable, ProbeFailed, ConnectionError) as exc:
        typer.echo(f"hotline {command}: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def probe(
    number: str | None = typer.Option(None, help="the number to dial (default: the first line's)"),
    checker: str | None = typer.Option(None, help="the checker's name (default: [spotcheck])"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Dial the public number like a group checker (抽查), redialling a busy tone or a
    no-answer by the rule, and store the connection score (prints it)."""
    from ivr.spotchecks.commands import render_check, run_probe

    config = config_or_exit(config_path)
    typer.echo(render_check(run_spotcheck_command("probe", run_probe(config, number, checker))))


spotcheck_app = typer.Typer(no_args_is_help=True, help="Spot checks (抽查) of the quarter.")
app.add_typer(spotcheck_app, name="spotcheck")


@spotcheck_app.command("add")
def spotcheck_add(
    checker: str = typer.Option(..., help="who checked"),
    dials: str = typer.Option(..., help="results in order: ivr, person, voicemail, busy, "
                              "no_answer, each optionally @HH:MM local, e.g. busy@09:00,ivr@09:04"),
    listened: int | None = typer.Option(None, min=0, max=80, help="the 80 listened points"),
    notes: str = typer.Option("", help="remarks"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Enter a checker's result; it is scored by the connection rule."""
    from ivr.spotchecks.commands import add_check, render_check

    config = config_or_exit(config_path)
    check = run_spotcheck_command("spotcheck add",
                                  add_check(config, checker, dials, listened, notes))
    typer.echo(render_check(check))


@spotcheck_app.command("show")
def spotcheck_show(
    quarter: str | None = typer.Argument(None, help="e.g. 2026Q4 (default: this quarter)"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """The quarter's checks and its score (the average of three or more checkers)."""
    from ivr.spotchecks.commands import show_quarter

    config = config_or_exit(config_path)
    typer.echo(run_spotcheck_command("spotcheck show", show_quarter(config, quarter)))


if __name__ == "__main__":
    app()


orders_app = typer.Typer(no_args_is_help=True, help="Work orders (首问负责制) and their hand-off.")
app.add_typer(orders_app, name="orders")


def run_orders_command(command: str, work: Coroutine[Any, Any, T]) -> T:
    """Run an `orders` sub-command; a refused change exits 2, no database 1."""
    import asyncio

    from ivr.journal.commands import JournalUnavailable
    from ivr.orders.domain import OrderRefused
    from ivr.orders.service import OrderNotFound

    try:
        return asyncio.run(work)
    except (OrderRefused, OrderNotFound, ValueError) as exc:
        typer.echo(f"hotline orders {command}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except JournalUnavailable as exc:
        typer.echo(f"hotline orders {command}: {exc}", err=True)
        raise typer.Exit(1) from exc


@orders_app.command("list")
def orders_list(
    config_path: Path = CONFIG_OPTION,
    status: str | None = typer.Option(
        None, help="open, dispatched, done, closed or not_closed (default: all)"
    ),
    service: str | None = typer.Option(None, help="emergency, repair, installation, ..."),
    limit: int = typer.Option(100, min=1, max=100_000, help="at most this many, newest first"),
    fmt: str = typer.Option("text", "--format", help="text, json or csv"),
) -> None:
    """Work orders, newest first."""
    from ivr.orders.commands import list_orders

    if fmt not in ("text", "json", "csv"):
        typer.echo("hotline orders list: --format is text, json or csv", err=True)
        raise typer.Exit(2)
    config = config_or_exit(config_path)
    typer.echo(run_orders_command("list", list_orders(config, status, service, limit, fmt)))


@orders_app.command("status")
def orders_status(
    order_id: int = typer.Argument(..., help="the work order's id"),
    status: str = typer.Argument(..., help="dispatched, done or closed"),
    note: str = typer.Option("", help="why (closing without the work done, say)"),
    config_path: Path = CONFIG_OPTION,
) -> None:
    """Move a work order to its next step (closing it makes its callback due)."""
    from ivr.orders.commands import move_order

    config = config_or_exit(config_path)
    typer.echo(run_orders_command("status", move_order(config, order_id, status, note)))


@orders_app.command("sync")
def orders_sync(
    config_path: Path = CONFIG_OPTION,
    since: str | None = typer.Option(
        None, help="calls since this local date or time (default: the last two days)"
    ),
) -> None:
    """Open the orders of the IVR's emergency, repair and installation calls now."""
    from ivr.orders.commands import sync_orders

    config = config_or_exit(config_path)
    created = run_orders_command("sync", sync_orders(config, since))
    typer.echo(f"{created} work order(s) opened")


callbacks_app = typer.Typer(no_args_is_help=True, help="Callbacks (回访): the month's numbers.")
app.add_typer(callbacks_app, name="callbacks")
MONTH_OPTION = typer.Option(..., "--month", help="a local month, YYYY-MM")


def _callbacks_month(command: str, config_path: Path, month: str, fmt: str, table: bool) -> None:
    import asyncio

    from ivr.journal.commands import JournalUnavailable
    from ivr.reporting.dissatisfied import month_command

    if fmt not in ("text", "json", "csv"):
        typer.echo(f"hotline callbacks {command}: --format is text, json or csv", err=True)
        raise typer.Exit(2)
    config = config_or_exit(config_path)
    try:
        typer.echo(asyncio.run(month_command(config, month, fmt, table)))
    except ValueError as exc:
        typer.echo(f"hotline callbacks {command}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except JournalUnavailable as exc:
        typer.echo(f"hotline callbacks {command}: {exc}", err=True)
        raise typer.Exit(1) from exc


@callbacks_app.command("rate")
def callbacks_rate(month: str = MONTH_OPTION, config_path: Path = CONFIG_OPTION) -> None:
    """回访率 of a month: callbacks made / work orders closed (SPEC §3, R7)."""
    _callbacks_month("rate", config_path, month, "text", table=False)


@callbacks_app.command("dissatisfied")
def callbacks_dissatisfied(
    month: str = MONTH_OPTION,
    config_path: Path = CONFIG_OPTION,
    fmt: str = typer.Option("text", "--format", help="text, json or csv"),
) -> None:
    """The month's 回访不满意情况表: dissatisfied callbacks with their work orders."""
    _callbacks_month("dissatisfied", config_path, month, fmt, table=True)
