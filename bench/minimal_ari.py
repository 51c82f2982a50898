"""Baseline for bench/caller_hears.py: the least an ARI application can do for a caller,
in a process of its own: on StasisStart, play the greeting. Nothing else (no policy, no
journal, no menu).

    python bench/minimal_ari.py URL USER PASSWORD MEDIA   (prints "ready" once subscribed)
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.ari.client import AriClient, AriError

APP = "hotline-minimal"


async def main(url: str, user: str, password: str, media: str) -> None:
    ari = AriClient(url, user, password, APP)
    await ari.open()
    plays: set[asyncio.Task[None]] = set()

    async def greet(channel: str) -> None:
        with contextlib.suppress(AriError):  # the caller hung up first
            await ari.play(channel, [media], str(uuid.uuid4()))

    async for event in ari.events():
        if event.get("type") == "HotlineConnected":
            print("ready", flush=True)
        elif event.get("type") == "StasisStart":
            task = asyncio.create_task(greet(event["channel"]["id"]))
            plays.add(task)
            task.add_done_callback(plays.discard)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
