"""Recorded prompt files, checked before a configuration is saved, applied or started:
each must lie inside the config file's own directory or the data dir (after symlinks:
a config must not make the service read `/etc/shadow` into a prompt), be a regular file
this process can read, not be huge, and be a sound file sox can decode.

Every problem names the field, e.g. `prompts.greeting.file: /etc/shadow is outside ...`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from ivr.config import HotlineConfig, Prompt

MAX_PROMPT_BYTES = 64 * 1024 * 1024  # an hour of 8 kHz 16-bit audio is 57 MiB
SOX_SECONDS = 30.0


def allowed_dirs(config: HotlineConfig, config_path: Path) -> list[Path]:
    """Where recorded prompts may live: beside the config file, or in the data dir."""
    return [config_path.parent.resolve(), config.service.data_dir.resolve()]


async def check_prompt_files(config: HotlineConfig, config_path: Path) -> list[str]:
    """Every problem of the config's recorded prompt files (empty: all usable)."""
    files = {
        name: prompt.file
        for name, prompt in config.prompts
        if isinstance(prompt, Prompt) and prompt.file is not None
    }
    if not files:
        return []
    dirs = allowed_dirs(config, config_path)
    problems: list[str] = []
    readable: dict[str, Path] = {}
    for name, file in files.items():
        problem = _placement_problem(file, dirs)
        if problem:
            problems.append(f"prompts.{name}.file: {problem}")
        else:
            readable[name] = file
    if readable and shutil.which("sox") is None:
        return [*problems, "sox is not installed; it is needed to convert recorded prompts "
                "(Debian: apt-get install sox)"]
    results = await asyncio.gather(*(_sox_problem(file) for file in readable.values()))
    problems += [
        f"prompts.{name}.file: {problem}"
        for name, problem in zip(readable, results, strict=True)
        if problem
    ]
    return problems


async def check_sound_file(file: Path, dirs: list[Path]) -> str | None:
    """The problem of one recorded sound file (an outage notice's), or None."""
    problem = _placement_problem(file, dirs)
    if problem is None:
        if shutil.which("sox") is None:
            return "sox is not installed; it is needed to convert recorded sound files"
        problem = await _sox_problem(file)
    return problem


def _placement_problem(file: Path, dirs: list[Path]) -> str | None:
    try:
        real = file.resolve(strict=True)
    except FileNotFoundError:
        return f"{file} does not exist"
    except (OSError, RuntimeError) as exc:
        return f"{file} cannot be resolved: {exc}"
    if not any(real.is_relative_to(d) for d in dirs):
        where = " or ".join(str(d) for d in dirs)
        return f"{file} is outside the config file's directory and the data dir ({where})"
    if not real.is_file():
        return f"{file} is not a regular file"
    try:
        size = real.stat().st_size
        with open(real, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        return f"cannot read {file}: {exc.strerror}"
    if size > MAX_PROMPT_BYTES:
        return f"{file} is {size // (1024 * 1024)} MiB; at most {MAX_PROMPT_BYTES >> 20} MiB"
    if size == 0:
        return f"{file} is empty"
    return None


async def _sox_problem(file: Path) -> str | None:
    """Decode the whole file to nothing (`sox FILE -n`): what the renderer will do."""
    process = await asyncio.create_subprocess_exec(
        "sox", "-V1", str(file), "-n",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "LC_ALL": "C"},
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(process.communicate(), SOX_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return f"sox took longer than {SOX_SECONDS:.0f} s to decode {file}"
    if process.returncode != 0:
        detail = " / ".join(err.decode(errors="replace").strip().splitlines()[-2:])
        return f"sox cannot decode {file}: {detail or 'status ' + str(process.returncode)}"
    return None
