"""docker-compose.yml for a real deployment, read as data (there is no Docker engine to run
`docker compose config`): the four services, files that exist, control ports that stay on
loopback, and no default passwords.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.unit.test_prometheus_rules import ROOT, load_yaml

COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS_CONFIG = ROOT / "metrics" / "prometheus" / "prometheus.yml"
SERVICES = ("asterisk", "hotline", "prometheus", "grafana")
# ARI/HTTP, AMI, the hotline's API and /metrics, FastAGI, and Prometheus (no login): these
# listen on loopback or inside the compose network only, never on a published port.
PRIVATE_PORTS = frozenset({8088, 5038, 9095, 4573, 9090})
INTERPOLATION = re.compile(r"\$\{[^}]*\}")
REQUIRED_VARIABLE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:?\?[^}]+\}$")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN", re.IGNORECASE)


def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def split_volume(spec: str) -> tuple[str, str]:
    """'source:target[:mode]' -> (source, target); the source may be ${VAR:?message}."""
    match = re.fullmatch(r"(\$\{[^}]*\}|[^:]+):([^:]+)(?::[a-z,]+)?", spec)
    assert match, f"cannot read the volume {spec!r}"
    return match[1], match[2]


def volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    result = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            result.append((volume["source"], volume["target"]))
        else:
            result.append(split_volume(volume))
    return result


def is_bind_mount(source: str) -> bool:
    return source.startswith(("/", ".", "~", "$"))


def published_container_ports(spec: Any) -> set[int]:
    """The container ports a `ports:` entry publishes (short or long syntax, ranges too)."""
    if isinstance(spec, dict):
        text = str(spec["target"])
    else:
        text = INTERPOLATION.sub("HOST", str(spec)).split(":")[-1]
    text = text.split("/")[0]
    first, _, last = text.partition("-")
    return set(range(int(first), int(last or first) + 1))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_the_four_services_exist() -> None:
    assert set(SERVICES) <= set(services())


def test_every_bind_mount_source_exists_in_the_repository() -> None:
    declared = set(compose().get("volumes") or {})
    for name, service in services().items():
        for source, target in volumes(service):
            assert target.startswith("/"), f"{name}: {target}"
            if source.startswith("$"):
                # a path only the operator knows: required, never a silent default
                assert REQUIRED_VARIABLE.match(source), f"{name}: {source} needs ${{VAR:?...}}"
            elif is_bind_mount(source):
                assert source.startswith("./"), f"{name}: {source} must be inside the repo"
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in declared, f"{name}: named volume {source} is not declared"


def test_build_contexts_and_dockerfiles_exist() -> None:
    built = {name: service["build"] for name, service in services().items() if "build" in service}
    assert {"asterisk", "hotline"} <= set(built)
    for name, build in built.items():
        context = ROOT / build["context"]
        assert context.is_dir(), name
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile}"


def test_the_images_are_built_as_described() -> None:
    asterisk = (ROOT / "docker" / "asterisk" / "Dockerfile").read_text()
    assert re.search(r"^FROM debian:sid\b", asterisk, re.MULTILINE)
    assert "Acquire::Check-Valid-Until=false" in asterisk
    for package in (
        "asterisk",
        "asterisk-core-sounds-en-gsm",
        "asterisk-moh-opsound-gsm",
        "espeak-ng",
        "sox",
    ):
        assert re.search(rf"\s{re.escape(package)}(\s|$)", asterisk), package
    hotline = (ROOT / "docker" / "hotline" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", hotline, re.MULTILINE)
    for package in ("espeak-ng", "sox", "libpangoft2-1.0-0", "fonts-noto-cjk"):  # PDF reports
        assert re.search(rf"\s{re.escape(package)}(\s|$)", hotline), package
    assert re.search(r"pip install\b[^\n]* \.(\s|$)", hotline)
    assert 'ENTRYPOINT ["hotline", "run", "--config", "/etc/hotline/hotline.toml"]' in hotline
    mounted = {target for _, target in volumes(services()["hotline"])}
    assert "/etc/hotline" in mounted


def test_asterisk_runs_the_configuration_the_hotline_renders() -> None:
    shared = {
        name: {(source, target) for source, target in volumes(services()[name])}
        for name in ("asterisk", "hotline")
    }
    common = shared["asterisk"] & shared["hotline"]
    assert len(common) == 1, "asterisk and hotline share one named volume"
    ((source, target),) = common
    assert not is_bind_mount(source)
    start = (ROOT / "docker" / "asterisk" / "start.sh").read_text()
    default = re.search(r"\$\{HOTLINE_ASTERISK_DIR:-([^}]+)\}", start)
    assert default and default[1] == target
    assert 'conf="$dir/etc/asterisk.conf"' in start
    assert re.search(r'exec /usr/sbin/asterisk -f .*-C "\$conf"', start)
    assert environment(services()["asterisk"])["HOTLINE_ASTERISK_DIR"] == target
    assert environment(services()["hotline"])["HOTLINE_ASTERISK_DIR"] == target


def test_hotline_and_prometheus_share_the_asterisk_loopback() -> None:
    for name in ("hotline", "prometheus"):
        service = services()[name]
        assert service.get("network_mode") == "service:asterisk", name
        assert "ports" not in service, name


def test_only_sip_and_rtp_are_published_never_control_ports() -> None:
    for name, service in services().items():
        for spec in service.get("ports", []):
            exposed = published_container_ports(spec) & PRIVATE_PORTS
            assert not exposed, f"{name} publishes {sorted(exposed)}"
    asterisk_ports = set()
    for spec in services()["asterisk"]["ports"]:
        assert str(spec).endswith("/udp"), spec
        asterisk_ports |= published_container_ports(spec)
    assert 5060 in asterisk_ports
    assert {10000, 10999} <= asterisk_ports


def test_grafana_admin_password_has_no_default() -> None:
    env = environment(services()["grafana"])
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:?\?[^}]+\}", env["GF_SECURITY_ADMIN_PASSWORD"])
    assert env.get("GF_AUTH_ANONYMOUS_ENABLED") == "false"


def test_no_secret_has_a_value_or_a_default_anywhere() -> None:
    for name, service in services().items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert REQUIRED_VARIABLE.match(value), f"{name}: {key} must be ${{VAR:?...}}"
    text = COMPOSE.read_text()
    assert not re.search(r"\$\{[A-Z_]*(PASSWORD|SECRET|TOKEN)[A-Z_]*:?-", text)


def test_prometheus_mounts_the_config_and_the_rules_it_names() -> None:
    prometheus = services()["prometheus"]
    flags = dict(arg.split("=", 1) for arg in prometheus["command"] if "=" in arg)
    config_path = Path(flags["--config.file"])
    mounts = {target: source for source, target in volumes(prometheus)}
    source_dir = mounts[str(config_path.parent)]
    assert (ROOT / source_dir / config_path.name).resolve() == PROMETHEUS_CONFIG
    rule_files = load_yaml(PROMETHEUS_CONFIG)["rule_files"]
    assert rule_files
    for rule_file in rule_files:
        assert not rule_file.startswith("/"), "rule_files are relative to prometheus.yml"
        assert (ROOT / source_dir / rule_file).is_file(), rule_file


# -- the two-node layout (docker-compose.nodes.yml, an override of docker-compose.yml) --

COMPOSE_NODES = ROOT / "docker-compose.nodes.yml"


def nodes_services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load_yaml(COMPOSE_NODES)["services"]
    return found


def test_the_two_node_layout_adds_node_b_kamailio_and_postgresql_to_the_same_loopback() -> None:
    extra = nodes_services()
    assert {"asterisk-b", "kamailio", "postgres"} <= set(extra)
    for name in ("asterisk-b", "kamailio", "postgres"):
        assert extra[name].get("network_mode") == "service:asterisk", name
        assert "ports" not in extra[name], name  # 5060/udp of the asterisk service is Kamailio's
    assert "listen_addresses=127.0.0.1" in extra["postgres"]["command"][-1]
    declared = set(load_yaml(COMPOSE_NODES).get("volumes") or {}) | set(compose()["volumes"])
    for name, service in extra.items():
        for source, _ in volumes(service):
            assert is_bind_mount(source) or source in declared, f"{name}: {source}"


def test_each_node_and_the_proxy_run_what_the_hotline_renders_for_them() -> None:
    extra = nodes_services()
    base = environment(services()["hotline"])["HOTLINE_ASTERISK_DIR"]
    hotline_env = environment(extra["hotline"])
    assert hotline_env["HOTLINE_ASTERISK_DIR"] == base  # nodes render into <base>/<node>
    assert environment(extra["asterisk"])["HOTLINE_ASTERISK_DIR"] == f"{base}/a"
    assert environment(extra["asterisk-b"])["HOTLINE_ASTERISK_DIR"] == f"{base}/b"
    proxy_dir = hotline_env["HOTLINE_PROXY_DIR"]
    assert environment(extra["kamailio"])["HOTLINE_PROXY_DIR"] == proxy_dir
    assert proxy_dir.startswith(base + "/")  # inside the volume the three share
    for name in ("asterisk-b", "kamailio"):
        assert any(target == base for _, target in volumes(extra[name])), name
    start = (ROOT / "docker" / "kamailio" / "start.sh").read_text()
    default = re.search(r"\$\{HOTLINE_PROXY_DIR:-([^}]+)\}", start)
    assert default and default[1] == proxy_dir
    assert re.search(r'exec /usr/sbin/kamailio -DD -E -f "\$conf"', start)
    dockerfile = (ROOT / extra["kamailio"]["build"]["context"] / "Dockerfile").read_text()
    assert re.search(r"install -y --no-install-recommends kamailio\b", dockerfile)
    assert "USER hotline" in dockerfile


def test_the_journal_database_password_has_no_default() -> None:
    env = environment(nodes_services()["postgres"])
    assert REQUIRED_VARIABLE.match(env["POSTGRES_PASSWORD"])
    text = COMPOSE_NODES.read_text()
    assert not re.search(r"\$\{[A-Z_]*(PASSWORD|SECRET|TOKEN)[A-Z_]*:?-", text)


def test_the_main_compose_file_points_to_the_two_node_layout() -> None:
    assert "-f docker-compose.yml -f docker-compose.nodes.yml" in COMPOSE.read_text()
