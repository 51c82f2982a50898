"""Everything a configuration needs before it is saved, applied or started with, short
of Asterisk itself: the file parses and validates (names field and line), its recorded
prompt files are usable (`ivr.prompt_files`), and Asterisk's configuration renders from
it. `load_checked` raises one `ConfigError` with every problem."""

from __future__ import annotations

from pathlib import Path

import jinja2

from ivr.asterisk.instance import Instance
from ivr.asterisk.render import render_configs
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.config import ConfigError, HotlineConfig, Prompt, load_config, load_config_text
from ivr.prompt_files import check_prompt_files
from ivr.prompts import BEEP_NAME
from ivr.secrets import Secrets

SCRATCH = Path("/preflight")


class _UnsavedSecrets(Secrets):
    """Passwords for a render that is only looked at: nothing is written anywhere."""

    def save(self) -> None:
        return None


def render_problems(config: HotlineConfig, config_path: Path) -> list[str]:
    """Render Asterisk's configuration in memory (placeholder secrets and paths)."""
    instance = Instance(AsteriskInstall(Path("/"), "preflight"), SCRATCH)
    names = [name for name, prompt in config.prompts if isinstance(prompt, Prompt)]
    sounds = {name: SCRATCH / "sounds" / name for name in [*names, BEEP_NAME]}
    try:
        render_configs(config, _UnsavedSecrets(SCRATCH / "secrets.toml"), instance, sounds,
                       config_path=config_path)
    except (jinja2.TemplateError, ValueError, KeyError) as exc:
        return [f"Asterisk's configuration cannot be rendered from it: {exc}"]
    return []


async def preflight(config: HotlineConfig, config_path: Path) -> list[str]:
    """The problems of an already valid configuration (empty: usable)."""
    problems = await check_prompt_files(config, config_path)
    return problems + render_problems(config, config_path)


async def load_checked(path: Path) -> HotlineConfig:
    """`load_config`, then the preflight; every problem in one ConfigError."""
    config = load_config(path)
    problems = await preflight(config, path)
    if problems:
        raise ConfigError(path, problems)
    return config


async def text_checked(text: str, path: Path) -> HotlineConfig:
    """The same for text that would be saved at `path` (nothing is written)."""
    config = load_config_text(text, path)
    problems = await preflight(config, path)
    if problems:
        raise ConfigError(path, problems)
    return config
