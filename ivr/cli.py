"""The `hotline` command: thin typer commands over the services."""

from __future__ import annotations

from pathlib import Path

import typer

from ivr.config import ConfigError, HotlineConfig, load_config

app = typer.Typer(no_args_is_help=True, help="Gas hotline IVR service on Asterisk.")

CONFIG_OPTION = typer.Option(
    Path("hotline.toml"), "--config", "-c", envvar="HOTLINE_CONFIG", help="the hotline config file"
)


def config_or_exit(path: Path) -> HotlineConfig:
    """Load the configuration, or print every problem and exit with status 2."""
    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(f"{exc.path}: the configuration is not valid:", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2) from exc


if __name__ == "__main__":
    app()
