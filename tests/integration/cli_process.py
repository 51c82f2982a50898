"""The `hotline` command as its own process, as an operator runs it: its output read
line by line, so a test waits for what it says ("hotline up", "adopted ...")."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class CliProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._readers = [
            asyncio.ensure_future(self._read(stream))
            for stream in (process.stdout, process.stderr)
            if stream is not None
        ]

    @classmethod
    async def start(cls, *args: str, env: dict[str, str] | None = None) -> CliProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ivr.cli", *args,
            cwd=ROOT, env={**os.environ, **(env or {})}, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            async with self._changed:
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, pattern: str, timeout: float = 90.0) -> re.Match[str]:
        """The first output line matching `pattern`; fails if the process exits first."""

        def found() -> re.Match[str] | None:
            for line in self.lines:
                if match := re.search(pattern, line):
                    return match
            return None

        async def wait() -> re.Match[str]:
            async with self._changed:
                while (match := found()) is None:
                    if all(reader.done() for reader in self._readers):
                        raise AssertionError(f"exited before {pattern!r}:\n{self.text}")
                    await self._changed.wait()
                return match

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} in {timeout} s:\n{self.text}") from None

    async def exit_code(self, timeout: float = 60.0) -> int:
        await asyncio.wait_for(self.process.wait(), timeout)
        # a child it left running (killed with SIGKILL, it could not stop them) may hold
        # its pipes open: what was said until then is enough
        _, holding = await asyncio.wait(self._readers, timeout=10)
        for reader in holding:
            reader.cancel()
        return int(self.process.returncode or 0)

    def send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    async def stop(self) -> int:
        """SIGTERM, as an init system stops it, and its exit status."""
        self.send(signal.SIGTERM)
        return await self.exit_code()


async def run_cli(*args: str, timeout: float = 120.0) -> tuple[int, str]:
    """Run a `hotline` command to its end: (exit status, stdout and stderr)."""
    cli = await CliProcess.start(*args)
    code = await cli.exit_code(timeout)
    return code, cli.text
