"""One real Asterisk per test session (its own config directory and free ports), the
real controller, and SIPp. With CI=true a missing Asterisk or SIPp fails the run."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.asterisk.sandbox import AsteriskInstall, ProvisionError, provision

from .harness import HotlineUnderTest

IN_CI = os.environ.get("CI") == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI needs a real Asterisk and SIPp: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def asterisk_install() -> AsteriskInstall:
    if not shutil.which("sipp"):
        _unavailable("sipp is not installed (apt-get install sip-tester)")
    try:
        return provision(say=lambda _: None)
    except ProvisionError as exc:
        _unavailable(str(exc))
        raise


@pytest.fixture(scope="session")
async def hotline(
    asterisk_install: AsteriskInstall, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HotlineUnderTest]:
    workdir: Path = tmp_path_factory.mktemp("hotline")
    under_test = HotlineUnderTest(asterisk_install, workdir)
    await under_test.start()
    try:
        yield under_test
    finally:
        await under_test.stop()
        if under_test.stack.instance is not None and not os.environ.get("HOTLINE_KEEP"):
            shutil.rmtree(under_test.stack.instance.host, ignore_errors=True)


@pytest.fixture
def fresh(hotline: HotlineUnderTest) -> HotlineUnderTest:
    """The shared hotline, set back to real time and its base config."""
    hotline.use_real_time()
    return hotline
