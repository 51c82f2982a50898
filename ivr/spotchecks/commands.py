"""What `hotline probe` and `hotline spotcheck add|show` do, behind the thin typer
commands. `hotline probe` dials from this process over the running Asterisk's ARI (an
application of its own), so it works beside `hotline run` or with Asterisk on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, tzinfo

from ivr.ari.client import AriClient
from ivr.clock import clock_from_env
from ivr.config import HotlineConfig
from ivr.domain.spotcheck import Dial, DialResult, SpotCheckInvalid
from ivr.journal.commands import open_journal
from ivr.secrets import load_secrets
from ivr.spotchecks.prober import Prober, probe_app
from ivr.spotchecks.service import SpotChecksService
from ivr.spotchecks.store import SpotCheck, SpotCheckStore


@asynccontextmanager
async def spotchecks_service(config: HotlineConfig) -> AsyncIterator[SpotChecksService]:
    async with open_journal(config) as store:
        yield SpotChecksService(
            SpotCheckStore(store.engine), lambda: config.hotline.zone, clock_from_env().now,
            lambda: timedelta(seconds=config.spotcheck.redial_seconds),
        )  # fmt: skip


async def run_probe(config: HotlineConfig, number: str | None, checker: str | None) -> SpotCheck:
    secrets = load_secrets(config.service.data_dir)
    url = f"http://{config.asterisk.bind}:{config.asterisk.http_port}"
    ari = AriClient(url, secrets.ari_user, secrets.ari_password,
                    probe_app(config.asterisk.ari_app) + "-cli")  # fmt: skip
    async with spotchecks_service(config) as checks:
        prober = Prober(ari, lambda: config.spotcheck, lambda: config.lines[0].number, checks)
        try:
            await prober.start()
        except TimeoutError as exc:
            await prober.stop()
            raise ConnectionError(f"Asterisk's ARI at {url} does not answer") from exc
        try:
            return await prober.probe(number, checker)
        finally:
            await prober.stop()


def parse_dials(text: str, first_at: datetime, zone: tzinfo) -> list[Dial]:
    """`busy@09:00,ivr@09:04` (local times today) or `busy,ivr` (3 minutes apart from now)."""
    dials = []
    for n, part in enumerate(p.strip() for p in text.split(",") if p.strip()):
        result, _, when = part.partition("@")
        try:
            kind = DialResult(result.strip())
        except ValueError as exc:
            raise SpotCheckInvalid(
                f"{result!r} is no dial result ({', '.join(r.value for r in DialResult)})"
            ) from exc
        if "T" in when:
            at = datetime.fromisoformat(when)
            at = at if at.tzinfo else at.replace(tzinfo=zone)
        elif when:
            day = first_at.astimezone(zone).date()
            at = datetime.combine(day, datetime.strptime(when, "%H:%M").time(), zone)
        else:
            at = first_at + timedelta(minutes=3 * n)
        dials.append(Dial(at, kind))
    return dials


async def add_check(
    config: HotlineConfig, checker: str, dials: str, listened: int | None, notes: str
) -> SpotCheck:
    async with spotchecks_service(config) as checks:
        start = checks.now() - timedelta(minutes=3 * dials.count(","))
        parsed = parse_dials(dials, start, config.hotline.zone)
        return await checks.record(checker, parsed, listened_score=listened, notes=notes)


def render_check(check: SpotCheck) -> str:
    dials = ", ".join(f"{d.result.value}" for d in check.dials)
    total = f", total {check.total}/100" if check.total is not None else ""
    return (f"{check.quarter} check {check.id} by {check.checker} ({check.kind}): "
            f"{dials} -> connection {check.connection_score}/20{total}")


async def show_quarter(config: HotlineConfig, quarter: str | None) -> str:
    async with spotchecks_service(config) as checks:
        q = quarter or checks.current_quarter()
        score = await checks.quarter(q)
        found = await checks.checks(q)
    lines = [render_check(c) for c in found] or [f"no checks in {q}"]
    for c in score.checkers:
        lines.append(f"  checker {c.checker}: {c.checks} check(s), average {c.score:g}/20")
    lines.append(
        f"{q}: connection score {score.score:g}/20" if score.score is not None
        else f"{q}: no score yet ({len(score.checkers)} checker(s); three or more needed)"
    )
    return "\n".join(lines)
