"""Prompts rendered with the real espeak-ng and sox: telephone WAV format, the cache,
re-rendering on change, recorded files, and clear errors."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest

from ivr import prompts as prompts_module
from ivr.config import HotlineConfig
from ivr.prompts import PromptError, PromptRenderer, spell_digits
from tests.unit.test_config import example_config, variant

needs_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="needs espeak-ng and sox (apt-get install espeak-ng sox)",
)
PROMPT_NAMES = {
    "announcement",
    "recorded",
    "greeting",
    "menu",
    "off_hours",
    "invalid",
    "voicemail",
    "callback",
    "queue",
    "busy",
}


def with_prompts(**changes: Any) -> HotlineConfig:
    return variant(prompts={**example_config().prompts.model_dump(exclude_none=True), **changes})


def wav_format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        return rate, wav.getnchannels(), wav.getsampwidth(), wav.getnframes() / rate


def mtimes(sounds: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sounds.glob("*.wav")}


def test_numbers_are_spelled_digit_by_digit() -> None:
    assert spell_digits("95007") == "9 5 0 0 7"
    assert spell_digits("0571-96777") == "0 5 7 1，9 6 7 7 7"


def test_text_prompts_get_the_hours_and_numbers() -> None:
    texts = PromptRenderer(example_config(), Path("unused")).texts()
    assert set(texts) == PROMPT_NAMES
    assert texts["greeting"] == "您好，欢迎致电示例燃气公司客服热线。"
    assert "我们的服务时间是每天8点至20点，法定节假日除外。" in texts["off_hours"]
    assert "也可拨打抢险电话9 5 0 0 7、报修电话9 5 0 0 7。" in texts["off_hours"]
    assert "我们的服务时间是每天8点至20点，法定节假日除外。" in texts["announcement"]


@needs_tools
async def test_every_prompt_becomes_an_8khz_mono_16bit_wav(tmp_path: Path) -> None:
    sounds = await PromptRenderer(example_config(), tmp_path).render_all()
    assert set(sounds) == PROMPT_NAMES | {"beep"}
    for name, path in sounds.items():
        assert path == tmp_path / name  # Asterisk adds the extension
        rate, channels, width, seconds = wav_format(path.with_suffix(".wav"))
        assert (rate, channels, width) == (8000, 1, 2), name
        assert seconds > (0.25 if name == "beep" else 0.5), name
    assert not list(tmp_path.glob(".*")), "no temporary files left behind"


@needs_tools
async def test_unchanged_prompts_are_not_rendered_again(tmp_path: Path) -> None:
    await PromptRenderer(example_config(), tmp_path).render_all()
    first = mtimes(tmp_path)
    await PromptRenderer(example_config(), tmp_path).render_all()
    assert mtimes(tmp_path) == first


@needs_tools
async def test_a_changed_text_is_rendered_again(tmp_path: Path) -> None:
    await PromptRenderer(example_config(), tmp_path).render_all()
    first = mtimes(tmp_path)
    changed = with_prompts(greeting={"text": "您好，这里是{name}，很高兴为您服务。"})
    await PromptRenderer(changed, tmp_path).render_all()
    second = mtimes(tmp_path)
    assert second["greeting.wav"] != first["greeting.wav"]
    assert {k: v for k, v in second.items() if k != "greeting.wav"} == {
        k: v for k, v in first.items() if k != "greeting.wav"
    }


@needs_tools
async def test_new_numbers_change_the_off_hours_prompt(tmp_path: Path) -> None:
    await PromptRenderer(example_config(), tmp_path).render_all()
    first = mtimes(tmp_path)
    hotline = {**example_config().hotline.model_dump(), "repair_number": "96777"}
    await PromptRenderer(variant(hotline=hotline), tmp_path).render_all()
    second = mtimes(tmp_path)
    assert [name for name in first if first[name] != second[name]] == ["off_hours.wav"]


@needs_tools
async def test_a_recorded_file_is_converted_and_cached_by_content(tmp_path: Path) -> None:
    recording = tmp_path / "hello.wav"
    synth = ["sox", "-n", "-r", "44100", "-c", "2", str(recording), "synth", "1.2", "sine", "440"]
    subprocess.run(synth, check=True)
    sounds = tmp_path / "sounds"
    config = with_prompts(greeting={"file": str(recording)})
    result = await PromptRenderer(config, sounds).render_all()
    assert wav_format(result["greeting"].with_suffix(".wav"))[:3] == (8000, 1, 2)
    assert wav_format(result["greeting"].with_suffix(".wav"))[3] == pytest.approx(1.2, abs=0.01)
    first = mtimes(sounds)
    await PromptRenderer(config, sounds).render_all()
    assert mtimes(sounds) == first
    subprocess.run([*synth[:-1], "880"], check=True)  # same name, new content
    await PromptRenderer(config, sounds).render_all()
    assert mtimes(sounds)["greeting.wav"] != first["greeting.wav"]


@needs_tools
async def test_a_missing_recorded_file_names_the_prompt(tmp_path: Path) -> None:
    config = with_prompts(menu={"file": str(tmp_path / "absent.wav")})
    with pytest.raises(PromptError, match=r"prompts\.menu\.file: cannot read"):
        await PromptRenderer(config, tmp_path / "sounds").render_all()


async def test_a_missing_program_names_its_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_which = shutil.which
    monkeypatch.setattr(
        prompts_module.shutil,
        "which",
        lambda name: None if name == "espeak-ng" else real_which(name),
    )
    if real_which("sox") is None:
        pytest.skip("needs sox")
    with pytest.raises(PromptError, match=r"espeak-ng is not installed.*apt-get install espeak-ng"):
        await PromptRenderer(example_config(), tmp_path).render_all()


@needs_tools
async def test_an_unknown_voice_falls_back_to_mandarin(tmp_path: Path) -> None:
    renderer = PromptRenderer(example_config(), tmp_path, voice="no-such-voice")
    sounds = await renderer.render_all()
    assert wav_format(sounds["menu"].with_suffix(".wav"))[3] > 0.5
