"""The configuration as the API sees it: the active one (secrets hidden), the same
compliance check as `hotline check`, a new file uploaded (validated first: an invalid
one changes nothing), and a reload (the service's own hook, as SIGHUP does)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ivr.compliance import Finding, check_compliance, has_errors, summarize
from ivr.config import ConfigError, HotlineConfig, load_config

ReloadHook = Callable[[], Awaitable[None]]

MAX_CONFIG_BYTES = 256 * 1024
# sections a reload does not apply: Asterisk's and the service's own sockets and paths
RESTART_SECTIONS = ("asterisk", "service")


class ConfigInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the configuration is not valid: " + "; ".join(problems))


class ConfigNotCompliant(ValueError):
    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        errors = [f for f in findings if f.level == "error"]
        super().__init__(
            f"the configuration breaks {len(errors)} hotline rule(s); fix them, or upload "
            "with force=true to save it anyway"
        )


@dataclass(frozen=True, slots=True)
class ConfigCheck:
    findings: list[Finding]
    summary: str

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)


@dataclass(frozen=True, slots=True)
class Saved:
    path: Path
    check: ConfigCheck
    restart_needed: list[str] = field(default_factory=list)
    saved: bool = True


class ConfigurationService:
    def __init__(
        self, current: Callable[[], HotlineConfig], path: Path, reload: ReloadHook
    ) -> None:
        self.current = current  # the configuration the service runs with now
        self.path = path  # the file `hotline reload` and the API's reload read
        self.reload_hook = reload
        self._lock = asyncio.Lock()

    def show(self) -> dict[str, Any]:
        """The active configuration, secrets hidden (a database password)."""
        shown: dict[str, Any] = self.current().model_dump(mode="json")
        service = shown.get("service", {})
        if service.get("database_url"):
            service["database_url"] = hide_password(service["database_url"])
        return shown

    async def file_differs(self) -> bool | None:
        """Does the file on disk differ from the active config (saved, not reloaded)?
        None when the file cannot be read or is invalid."""
        try:
            on_disk = await asyncio.to_thread(load_config, self.path)
        except ConfigError:
            return None
        return _comparable(on_disk) != _comparable(self.current())

    def check(self, config: HotlineConfig | None = None) -> ConfigCheck:
        """`hotline check`: every rule the configuration breaks (R1-R3)."""
        config = config or self.current()
        findings = check_compliance(config)
        return ConfigCheck(findings, summarize(config, findings))

    async def upload(self, text: str, *, force: bool = False, dry_run: bool = False) -> Saved:
        """Validate a new configuration (TOML) and, if valid, make it the file the next
        reload reads. The previous file is kept beside it as `<name>.previous`.
        `dry_run`: validate and check only, save nothing."""
        if len(text.encode("utf-8", errors="replace")) > MAX_CONFIG_BYTES:
            raise ConfigInvalid([f"the file is larger than {MAX_CONFIG_BYTES // 1024} KiB"])
        if not text.strip():
            raise ConfigInvalid(["the file is empty"])
        async with self._lock:
            # validated exactly as the reload will read it: from a file beside the real one
            # (relative data_dir and prompt files resolve the same way)
            staged = await asyncio.to_thread(_stage, self.path, text)
            try:
                try:
                    new = await asyncio.to_thread(load_config, staged)
                except ConfigError as exc:
                    raise ConfigInvalid(exc.problems) from exc
                check = self.check(new)
                if not check.ok and not force:
                    raise ConfigNotCompliant(check.findings)
                current = self.current()
                restart = [
                    name
                    for name in RESTART_SECTIONS
                    if getattr(new, name) != getattr(current, name)
                ]
                if not dry_run:
                    await asyncio.to_thread(_swap_in, staged, self.path)
            finally:
                staged.unlink(missing_ok=True)
        return Saved(self.path, check, restart, saved=not dry_run)

    async def reload(self) -> None:
        """Make the service take the file on disk (new calls only), if it is valid."""
        try:
            await asyncio.to_thread(load_config, self.path)
        except ConfigError as exc:
            raise ConfigInvalid(exc.problems) from exc
        await self.reload_hook()


def hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "***"


def _comparable(config: HotlineConfig) -> dict[str, Any]:
    # load_config makes data_dir and prompt files absolute; compare what a reload applies
    dumped: dict[str, Any] = config.model_dump(mode="json", exclude={"service"})
    return dumped


def _stage(path: Path, text: str) -> Path:
    """The new file, written beside the old one (same directory, same file system)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.uploading")
    with open(staged, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    return staged


def _swap_in(staged: Path, path: Path) -> None:
    """Keep the old file as `<name>.previous`, then rename the new one over it: a crash
    leaves the old file or the new one, never half of one."""
    if path.exists():
        path.with_name(path.name + ".previous").write_bytes(path.read_bytes())
    staged.replace(path)
