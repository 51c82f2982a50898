"""A reload never takes the hotline off the air (issue 11 item 5): a config whose prompt
file sox cannot read (`/etc/shadow`, a missing path) is refused with the field named,
the running configuration stays in force, and real calls after it are answered by the
controller as before. A good config still applies."""

from __future__ import annotations

import pytest

from ivr.config_apply import apply_config_file, read_result
from ivr.domain.events import EventKind

from . import sipp
from .harness import HotlineUnderTest

pytestmark = pytest.mark.asterisk

GREETING = 'greeting = { text = "您好。" }'


async def _answered(fresh: HotlineUnderTest, name: str) -> None:
    mark = fresh.tap.mark()
    run = await sipp.call(fresh.call_dir(name), fresh.ports.sip, "95007", hold_ms=1500)
    assert await run.wait(timeout=30) == 0, run.log()
    greeted = await fresh.tap.wait_for(EventKind.prompt_played, since=mark,
                                       prompt="greeting,menu")
    assert greeted.source == "ari"  # the controller, not the dialplan fallback
    await fresh.tap.wait_for(EventKind.call_ended, since=mark, linkedid=greeted.linkedid)


@pytest.mark.parametrize("bad_file", ["/etc/shadow", "missing-greeting.wav"])
async def test_a_reload_with_a_bad_prompt_file_keeps_the_hotline_answering(
    fresh: HotlineUnderTest, bad_file: str
) -> None:
    assert fresh.controller is not None and fresh.journal is not None
    running = fresh.config
    media_before = dict(fresh.stack.media)
    good_text = fresh.config_path.read_text(encoding="utf-8")
    assert GREETING in good_text
    fresh.config_path.write_text(
        good_text.replace(GREETING, f'greeting = {{ file = "{bad_file}" }}'), encoding="utf-8"
    )
    try:
        result = await apply_config_file(
            fresh.config_path, fresh.stack, [fresh.controller, fresh.journal],
            fresh.controller.ami,
        )
    finally:
        fresh.config_path.write_text(good_text, encoding="utf-8")
    assert result.ok is False
    assert len(result.problems) == 1
    assert result.problems[0].startswith("prompts.greeting.file: ")
    assert read_result(fresh.data_dir) == result  # what `hotline reload` reads
    assert fresh.stack.config is running and fresh.controller.config is running
    assert fresh.stack.media == media_before
    await _answered(fresh, "after-refused-reload")


async def test_a_good_reload_applies_and_calls_go_on(fresh: HotlineUnderTest) -> None:
    assert fresh.controller is not None and fresh.journal is not None
    fresh.write_config(capacity="25")
    try:
        result = await apply_config_file(
            fresh.config_path, fresh.stack, [fresh.controller, fresh.journal],
            fresh.controller.ami,
        )
        assert result.ok, result.problems
        assert fresh.controller.config.line_by_name("main").capacity == 25  # type: ignore[union-attr]
        assert fresh.stack.config.line_by_name("main").capacity == 25  # type: ignore[union-attr]
        await _answered(fresh, "after-good-reload")
    finally:
        await fresh.reload()  # back to the session's base config
