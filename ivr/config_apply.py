"""Applying a configuration file to the running hotline (SIGHUP, `hotline reload`, the
API's reload): checked first (`ivr.config_preflight`), then rendered and reloaded into
Asterisk, then handed to the controller and the journal. Whatever fails, the running
configuration stays in force and the hotline keeps answering: a reload never stops it.

The outcome is written to `<data_dir>/reload-result.json` for `hotline reload` to read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from ivr.config import ConfigError, HotlineConfig
from ivr.config_preflight import load_checked

log = structlog.get_logger(__name__)

RESULT_NAME = "reload-result.json"


class Stack(Protocol):
    """The Asterisk side (ivr.app.AsteriskStack)."""

    config: HotlineConfig

    async def render(self, config: HotlineConfig) -> None: ...

    async def reload(self, config: HotlineConfig, ami: Any = None) -> None: ...


class TakesConfig(Protocol):
    """The controller, the journal: what routes or folds new calls by the config."""

    def apply(self, config: HotlineConfig) -> None: ...


@dataclass(frozen=True)
class ApplyResult:
    ok: bool
    problems: list[str] = field(default_factory=list)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    pid: int = field(default_factory=os.getpid)

    def summary(self) -> str:
        if self.ok:
            return "configuration reloaded"
        return "reload refused, the running configuration stays: " + "; ".join(self.problems)


async def apply_config_file(
    path: Path,
    stack: Stack,
    targets: Sequence[TakesConfig],
    ami: Any = None,
    adjust: Callable[[HotlineConfig], HotlineConfig] = lambda config: config,
) -> ApplyResult:
    """Check and apply the file at `path`; never raises (but for cancellation).
    `adjust` makes of the file what the run made of it at start (`--nodes`)."""
    running = stack.config
    try:
        new = adjust(await load_checked(path))
    except ConfigError as exc:
        result = ApplyResult(False, list(exc.problems))
    except ValueError as exc:  # what `adjust` refuses
        result = ApplyResult(False, [str(exc)])
    except Exception as exc:  # whatever it is, the hotline stays up
        log.exception("reload.check_failed")
        result = ApplyResult(False, [f"checking the configuration failed: {exc!r}"])
    else:
        result = await _apply(new, running, stack, targets, ami)
    if result.ok:
        log.info("reload.applied", path=str(path))
    else:
        log.error("reload.refused", path=str(path), problems=result.problems)
    write_result(running.service.data_dir, result)
    return result


async def _apply(
    new: HotlineConfig,
    running: HotlineConfig,
    stack: Stack,
    targets: Sequence[TakesConfig],
    ami: Any,
) -> ApplyResult:
    try:
        await stack.reload(new, ami)
    except Exception as exc:  # a prompt, a disk, Asterisk: keep running
        log.exception("reload.apply_failed")
        problems = [f"applying it to Asterisk failed: {exc}"]
        try:  # put back what Asterisk and the call flow were using
            await stack.render(running)
        except Exception as again:
            problems.append(f"re-rendering the running configuration failed too: {again}")
        stack.config = running
        return ApplyResult(False, problems)
    for target in targets:
        target.apply(new)
    return ApplyResult(True)


def result_path(data_dir: Path) -> Path:
    return data_dir / RESULT_NAME


def write_result(data_dir: Path, result: ApplyResult) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        target = result_path(data_dir)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(json.dumps(asdict(result), ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        log.warning("reload.result_not_written", error=str(exc))


def read_result(data_dir: Path) -> ApplyResult | None:
    try:
        raw = json.loads(result_path(data_dir).read_text(encoding="utf-8"))
        return ApplyResult(bool(raw["ok"]), [str(p) for p in raw["problems"]],
                           str(raw["at"]), int(raw["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
