"""The fault suite uses the integration tests' real Asterisk and SIPp fixtures."""

from tests.integration.conftest import asterisk_install, fresh, hotline

__all__ = ["asterisk_install", "fresh", "hotline"]
