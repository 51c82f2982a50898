"""What a huge request body costs the service process (issue 12 item 3).

    .venv/bin/python bench/request_limits.py [--mib 400]

Starts the API (the real FastAPI app under uvicorn, a SQLite journal, an admin token) in
a child process, then POSTs `--mib` MiB chunked to /api/config/validate, once without a
token and once with the admin token, and reads the child's peak resident memory
(VmHWM in /proc) before and after each. Writes bench/results/request_limits.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench/results/request_limits.json"
MiB = 1024 * 1024


async def serve(workdir: Path, port: int) -> None:
    from ivr.api.app import create_api
    from ivr.api.context import ApiServices
    from ivr.api.server import HttpServer
    from ivr.auth.tokens import TokenStore
    from ivr.config import load_config
    from ivr.journal.store import Store
    from ivr.live import LiveState

    config_path = workdir / "hotline.toml"
    config_path.write_text((ROOT / "hotline.example.toml").read_text(encoding="utf-8"))
    config = load_config(config_path)
    store = Store(f"sqlite+aiosqlite:///{workdir}/journal.sqlite3")
    await store.migrate()
    issued = await TokenStore(store.engine).create("bench", "admin", datetime.now(UTC))

    async def reload() -> None:
        return None

    app = create_api(ApiServices(
        journal=store, config=lambda: config, config_path=config_path, live=LiveState(),
        reload=reload, voicemail_path=lambda path: path,
    ))  # fmt: skip
    server = HttpServer(app, "127.0.0.1", port)
    await server.start()
    (workdir / "token").write_text(issued.secret)
    await asyncio.Event().wait()


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def post(port: int, total: int, token: str | None) -> tuple[str, float, int]:
    """(status line, seconds, MiB sent before the server answered or closed)"""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(
        f"POST /api/config/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/toml\r\n"
        f"{auth}Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    started = time.perf_counter()
    answer = asyncio.ensure_future(reader.readline())
    chunk = b"%x\r\n" % MiB + b"#" * MiB + b"\r\n"
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < total and not answer.done():
            writer.write(chunk)
            await writer.drain()
            sent += MiB
        if not answer.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    try:
        status = (await asyncio.wait_for(answer, 300)).decode().strip()
    except ConnectionError:
        status = "(closed)"
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return status or "(closed)", time.perf_counter() - started, sent // MiB


async def measure(mib: int) -> dict[str, object]:
    from tests.integration.sipp import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(workdir), "--port", str(port)],
            cwd=ROOT,
        )
        try:
            while not (workdir / "token").exists():
                if child.poll() is not None:
                    raise RuntimeError("the API process exited")
                await asyncio.sleep(0.1)
            token = (workdir / "token").read_text()
            rows: dict[str, object] = {"idle_peak_mib": round(peak_mib(child.pid), 1)}
            for label, secret in (("anonymous", None), ("admin", token)):
                status, seconds, sent = await post(port, mib * MiB, secret)
                rows[label] = {
                    "status": status,
                    "seconds": round(seconds, 2),
                    "mib_sent_before_answer": sent,
                    "peak_mib_after": round(peak_mib(child.pid), 1),
                }
            return rows
        finally:
            child.terminate()
            child.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=400)
    parser.add_argument("--serve", type=Path)
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.port))
        return
    rows = asyncio.run(measure(args.mib))
    git = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    result = {
        "measured": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git,
        "body_mib": args.mib,
        "endpoint": "POST /api/config/validate (chunked)",
        "cores": os.cpu_count(),
        **rows,
    }
    print(json.dumps(result, indent=2))
    if os.environ.get("HOTLINE_BENCH_NO_WRITE") != "1":
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
