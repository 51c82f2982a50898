"""What `hotline report --week/--month --format ...` does, behind the typer command."""

from __future__ import annotations

from datetime import UTC, datetime

from ivr.config import HotlineConfig
from ivr.journal.commands import open_journal
from ivr.reporting.document import Kind, build_document
from ivr.reporting.render import Format, render


async def report_document(
    config: HotlineConfig,
    kind: Kind,
    label: str,
    fmt: Format,
    line: str | None = None,
    now: datetime | None = None,
) -> bytes:
    async with open_journal(config) as store:
        document = await build_document(
            store, config, kind, label, line=line, now=now or datetime.now(UTC)
        )
    return render(document, fmt)
