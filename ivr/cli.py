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



asterisk_app = typer.Typer(no_args_is_help=True, help="The Asterisk the hotline runs on.")
app.add_typer(asterisk_app, name="asterisk")


@asterisk_app.command("provision")
def asterisk_provision(
    sandbox: bool = typer.Option(False, help="build/use the Debian sid root even if "
                                 "the system has an Asterisk"),
) -> None:
    """Make Asterisk 22 available: the system's own, or a cached Debian sid root."""
    from ivr.asterisk.sandbox import ProvisionError, provision

    try:
        install = provision(prefer_system=not sandbox)
    except ProvisionError as exc:
        typer.echo(f"cannot provision Asterisk: {exc}", err=True)
        raise typer.Exit(1) from exc
    where = "system" if not install.chrooted else str(install.root)
    typer.echo(f"{install.version} ({where})")


@app.command()
def render(config_path: Path = CONFIG_OPTION) -> None:
    """Render the Asterisk configuration for the config file and print where it went."""
    import asyncio

    from ivr.app import AsteriskStack
    from ivr.asterisk.instance import Instance
    from ivr.asterisk.sandbox import provision

    config = config_or_exit(config_path)
    stack = AsteriskStack(config, config_path)
    stack.install = provision()
    stack.instance = Instance.create(stack.install, stack.name, config.service.data_dir)
    asyncio.run(stack.render(config))
    typer.echo(str(stack.instance.etc))


@app.command()
def run(config_path: Path = CONFIG_OPTION) -> None:
    """Run the hotline: Asterisk and the service, until Ctrl-C."""
    import asyncio

    from ivr.runner import run_hotline

    config = config_or_exit(config_path)
    raise typer.Exit(asyncio.run(run_hotline(config, config_path)))


@app.command()
def reload(config_path: Path = CONFIG_OPTION) -> None:
    """Check the config and make the running hotline take it (new calls only)."""
    import os
    import signal

    config = config_or_exit(config_path)
    pid_file = config.service.data_dir / "hotline.pid"
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        typer.echo(f"no running hotline found ({pid_file}): {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"reload requested (pid {pid})")


@app.command()
def check(config_path: Path = CONFIG_OPTION) -> None:
    """Check the config against the hotline rules (R1-R3); exit status 1 on any error."""
    from ivr.domain.compliance import check_compliance, has_errors, summarize

    config = config_or_exit(config_path)
    findings = check_compliance(config)
    for finding in findings:
        typer.echo(f"{finding.level}: {finding.field}: {finding.message}")
    if has_errors(findings):
        errors = sum(1 for f in findings if f.level == "error")
        typer.echo(f"{config_path}: {errors} error(s): the hotline breaks its rules", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {summarize(config, findings)}")


if __name__ == "__main__":
    app()
