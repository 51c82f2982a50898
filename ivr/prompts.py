"""Prompts as 8 kHz mono 16-bit WAV files for Asterisk: text spoken by espeak-ng,
recorded files converted by sox, and the voicemail beep.

Each output is `sounds_dir/NAME.wav` (Asterisk is given `sounds_dir/NAME` and picks
the extension) with `NAME.sha256` beside it holding what it was made from, so an
unchanged prompt is not rendered again. Files are replaced atomically: a call playing
the old prompt during a reload keeps its open file.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ivr.config import HotlineConfig, Prompt
from ivr.domain.notices import Notice

# Debian's espeak-ng 1.51 `cmn` voice reads the characters its dictionary gives as
# pinyin (e.g. 点 -> "dian3") with English rules ("dian three"); `cmn-latn-pinyin` is
# the same Mandarin voice reading that pinyin as Mandarin.
DEFAULT_VOICE = "cmn-latn-pinyin"
FALLBACK_VOICE = "cmn"
# bump when the conversion below changes, so every cached prompt is made again
RENDER_VERSION = "1"
TELEPHONE_FORMAT = ("-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer")
BEEP_NAME = "beep"
NOTICE_PREFIX = "notice-"  # outage notices' prompts: notice-<id>
AREA_PROMPT = "notice_areas"  # "东区请按1，西区请按2": which area's notices to hear
BEEP_EFFECTS = ("synth", "0.3", "sine", "1000", "gain", "-6")
DEBIAN_PACKAGES = {"espeak-ng": "espeak-ng", "sox": "sox"}


class PromptError(Exception):
    """A prompt could not be made; the message says which and why."""


@dataclass(frozen=True)
class _Job:
    name: str
    key: str  # sha256 of everything the output depends on
    text: str | None = None
    voice: str = DEFAULT_VOICE
    source: Path | None = None


class PromptRenderer:
    def __init__(
        self, config: HotlineConfig, sounds_dir: Path, *, voice: str = DEFAULT_VOICE
    ) -> None:
        self.config = config
        self.sounds_dir = sounds_dir
        self.voice = voice

    def texts(self) -> dict[str, str]:
        """The text prompts as they will be spoken, placeholders filled in."""
        values = {
            "name": self.config.hotline.name,
            "hours": self.config.schedule.describe_hours(),
            "emergency_number": spell_digits(self.config.hotline.emergency_number),
            "repair_number": spell_digits(self.config.hotline.repair_number),
        }
        return {
            name: prompt.text.format(**values)
            for name, prompt in self._prompts().items()
            if prompt.text is not None
        }

    async def render_all(self) -> dict[str, Path]:
        """Make every prompt and the beep; prompt name -> path without extension."""
        prompts = self._prompts()
        _require_program("sox")
        voice = self.voice
        if any(prompt.text is not None for prompt in prompts.values()):
            _require_program("espeak-ng")
            voice = await _available_voice(voice)
        self.sounds_dir.mkdir(parents=True, exist_ok=True)
        beep = _Job(BEEP_NAME, _digest(RENDER_VERSION, *BEEP_EFFECTS))
        jobs = [*self._jobs(prompts, voice), beep]
        await asyncio.gather(*(self._make(job) for job in jobs))
        return {job.name: self.sounds_dir / job.name for job in jobs}

    def _prompts(self) -> dict[str, Prompt]:
        prompts = {name: p for name, p in self.config.prompts if isinstance(p, Prompt)}
        area_prompt = self.config.notices.area_prompt
        if area_prompt is not None:  # made from `[notices] areas`
            prompts[AREA_PROMPT] = area_prompt
        return prompts

    def _jobs(self, prompts: dict[str, Prompt], voice: str) -> list[_Job]:
        texts = self.texts()
        jobs = []
        for name, prompt in prompts.items():
            if prompt.file is None:
                key = _digest(RENDER_VERSION, voice, texts[name])
                jobs.append(_Job(name, key, text=texts[name], voice=voice))
                continue
            try:
                content = prompt.file.read_bytes()
            except OSError as exc:
                raise PromptError(
                    f"prompts.{name}.file: cannot read {prompt.file}: {exc.strerror}"
                ) from exc
            jobs.append(_Job(name, _digest(RENDER_VERSION, content), source=prompt.file))
        return jobs

    async def _make(self, job: _Job) -> None:
        await _make(self.sounds_dir, job)


async def render_notices(
    sounds_dir: Path, notices: Sequence[Notice], *, voice: str = DEFAULT_VOICE
) -> dict[str, Path]:
    """Each notice's prompt (`notice-<id>`), spoken by the same voice as the other text
    prompts or converted from its recorded file; prompt name -> path without extension.
    Prompts of notices no longer given are removed."""
    sounds_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    if any(n.text is not None for n in notices):
        _require_program("espeak-ng")
        voice = await _available_voice(voice)
    for notice in notices:
        if notice.text is not None:
            key = _digest(RENDER_VERSION, voice, notice.text)
            jobs.append(_Job(notice.prompt, key, text=notice.text, voice=voice))
        elif notice.file is not None:
            source = Path(notice.file)
            try:
                content = source.read_bytes()
            except OSError as exc:
                raise PromptError(f"notice {notice.id}: cannot read {source}: {exc.strerror}") \
                    from exc
            jobs.append(_Job(notice.prompt, _digest(RENDER_VERSION, content), source=source))
    if jobs:
        _require_program("sox")
    await asyncio.gather(*(_make(sounds_dir, job) for job in jobs))
    keep = {job.name for job in jobs}
    for old in sounds_dir.glob(f"{NOTICE_PREFIX}*.wav"):
        if old.stem not in keep:
            old.unlink(missing_ok=True)
            old.with_suffix(".sha256").unlink(missing_ok=True)
    return {job.name: sounds_dir / job.name for job in jobs}


async def _make(sounds_dir: Path, job: _Job) -> None:
    wav = sounds_dir / f"{job.name}.wav"
    stamp = sounds_dir / f"{job.name}.sha256"
    if wav.exists() and stamp.exists() and stamp.read_text().strip() == job.key:
        return
    unique = uuid.uuid4().hex[:12]
    partial = sounds_dir / f".{job.name}.{unique}.wav"
    spoken = sounds_dir / f".{job.name}.{unique}.espeak.wav"
    try:
        if job.text is not None:
            await _run(job.name, "espeak-ng", "-v", job.voice, "-w", str(spoken),
                       "--stdin", stdin=job.text.encode())  # fmt: skip
            await _run(job.name, "sox", str(spoken), *TELEPHONE_FORMAT, str(partial))
        elif job.source is not None:
            await _run(job.name, "sox", str(job.source), *TELEPHONE_FORMAT, str(partial))
        else:
            await _run(job.name, "sox", "-n", *TELEPHONE_FORMAT, str(partial), *BEEP_EFFECTS)
        partial.replace(wav)
        stamp.write_text(job.key + "\n")
    finally:
        partial.unlink(missing_ok=True)
        spoken.unlink(missing_ok=True)


def spell_digits(number: str) -> str:
    """Spell 95007 as "9 5 0 0 7" so it is read as digits; a dash becomes a pause."""
    groups = [" ".join(group) for group in number.split("-") if group]
    return "，".join(groups)


def _digest(*parts: str | bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        sha.update(len(data).to_bytes(8, "big"))  # length-prefixed: parts cannot run together
        sha.update(data)
    return sha.hexdigest()


def _require_program(program: str) -> None:
    if shutil.which(program) is None:
        package = DEBIAN_PACKAGES[program]
        raise PromptError(
            f"{program} is not installed; it is needed to make the prompts "
            f"(Debian: apt-get install {package})"
        )


async def _available_voice(wanted: str) -> str:
    """`wanted` if this espeak-ng has it, else the plain Mandarin voice."""
    listing = await _run("voices", "espeak-ng", "--voices=zh")
    names = {line.split()[1] for line in listing.splitlines()[1:] if len(line.split()) > 1}
    return wanted if wanted in names else FALLBACK_VOICE


async def _run(prompt: str, program: str, *args: str, stdin: bytes | None = None) -> str:
    try:
        process = await asyncio.create_subprocess_exec(
            program,
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        package = DEBIAN_PACKAGES[program]
        raise PromptError(f"{program} is not installed (apt-get install {package})") from exc
    out, err = await process.communicate(stdin)
    if process.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise PromptError(
            f"prompt {prompt!r}: {program} failed with status {process.returncode}: "
            + " / ".join(detail)
        )
    return out.decode(errors="replace")
