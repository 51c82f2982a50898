"""Child processes the hotline starts in a process group of their own (Asterisk, Kamailio):
stopped as a group, politely first."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal


async def stop_group(process: asyncio.subprocess.Process | None, timeout: float = 10.0) -> None:
    """SIGTERM to the process's group, SIGKILL after `timeout` seconds; returns once it
    has exited (at once if it had already)."""
    if process is None or process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
