"""Turn the hotline config into an Asterisk configuration directory (jinja2 templates
in dialplan/). Everything Asterisk reads comes from here, so a reload is a re-render.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import jinja2

from ivr.asterisk.instance import Instance
from ivr.config import HotlineConfig, OnCall
from ivr.domain.vocabulary import Service
from ivr.secrets import Secrets

TEMPLATES = Path(__file__).resolve().parents[2] / "dialplan"
HORIZON_DAYS = 400  # holiday dates rendered ahead; `hotline run` re-renders daily

MODULES = (
    # core services
    "res_timing_timerfd.so",
    "res_musiconhold.so",
    "pbx_config.so",
    "func_callerid.so",
    "func_channel.so",
    "func_cut.so",
    "func_env.so",
    "func_global.so",
    "func_groupcount.so",
    "func_logic.so",
    "func_math.so",
    "func_strings.so",
    "func_talkdetect.so",
    "func_timeout.so",
    "func_hangupcause.so",
    # codecs and formats: prompts are 8 kHz WAV, Asterisk's own sounds GSM
    "codec_ulaw.so",
    "codec_alaw.so",
    "codec_gsm.so",
    "format_gsm.so",
    "format_wav.so",
    "format_wav_gsm.so",
    "format_pcm.so",
    "format_sln.so",
    # SIP (no res_pjsip_refer: callers cannot transfer)
    "res_sorcery_config.so",
    "res_sorcery_memory.so",
    "res_sorcery_astdb.so",
    "res_pjproject.so",
    "res_pjsip.so",
    "res_pjsip_session.so",
    "res_pjsip_pubsub.so",
    "chan_pjsip.so",
    "res_pjsip_authenticator_digest.so",
    # the [carrier] trunk: digest auth towards it, registration when it wants one
    "res_pjsip_outbound_authenticator_digest.so",
    "res_pjsip_outbound_registration.so",
    "res_pjsip_endpoint_identifier_user.so",
    "res_pjsip_endpoint_identifier_anonymous.so",
    "res_pjsip_registrar.so",
    "res_pjsip_sdp_rtp.so",
    "res_pjsip_caller_id.so",
    "res_pjsip_rfc3326.so",
    "res_pjsip_dtmf_info.so",
    "res_pjsip_nat.so",
    "res_rtp_asterisk.so",
    # applications
    "app_dial.so",
    "app_queue.so",
    "app_playback.so",
    "app_record.so",
    "app_mixmonitor.so",
    "app_exec.so",
    "app_stack.so",
    "app_while.so",
    "app_userevent.so",
    # Asterisk's own durable record (CEL to a JSON-lines file; queue_log is app_queue's)
    "app_celgenuserevent.so",
    "res_cdrel_custom.so",
    "cel_custom.so",
    "app_stasis.so",
    "app_echo.so",
    "app_verbose.so",
    "bridge_simple.so",
    "bridge_native_rtp.so",
    "bridge_holding.so",
    "bridge_softmix.so",
    "bridge_builtin_features.so",
    # ARI
    "res_http_websocket.so",
    "res_websocket_client.so",
    "res_stasis.so",
    "res_stasis_answer.so",
    "res_stasis_playback.so",
    "res_stasis_recording.so",
    "res_stasis_device_state.so",
    "res_stasis_snoop.so",
    "res_ari.so",
    "res_ari_model.so",
    "res_ari_applications.so",
    "res_ari_asterisk.so",
    "res_ari_bridges.so",
    "res_ari_channels.so",
    "res_ari_device_states.so",
    "res_ari_endpoints.so",
    "res_ari_events.so",
    "res_ari_playbacks.so",
    "res_ari_recordings.so",
    "res_ari_sounds.so",
)

# The AMI events the journal and the live view read (manager.conf eventfilter).
AMI_EVENTS = (
    "FullyBooted",
    "UserEvent",
    "Hangup",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "ChannelTalkingStart",
    "AgentRingNoAnswer",
    "AgentConnect",
    "AgentComplete",
    "AgentDump",
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueParams",
    "QueueMember",
    "QueueEntry",
    "QueueStatusComplete",
    "CoreShowChannel",
    "CoreShowChannelsComplete",
)

CONFIG_FILES = (
    "asterisk.conf",
    "modules.conf",
    "logger.conf",
    "indications.conf",
    "http.conf",
    "ari.conf",
    "manager.conf",
    "rtp.conf",
    "musiconhold.conf",
    "cdr.conf",
    "cel.conf",
    "cel_custom.conf",
    "features.conf",
    "stasis.conf",
    "pjsip.conf",
    "queues.conf",
    "extensions.conf",
    "extensions_notices.conf",
)
NOTICES_FILE = "extensions_notices.conf"

# Read by loaded modules; empty means their defaults (and no error in the log).
EMPTY_FILES = ("acl.conf", "udptl.conf", "pjproject.conf", "websocket_client.conf", "ccss.conf",
               "queuerules.conf")


def cel_extra(body: str) -> str:
    """A journal step's body (`Kind: x,Line: y,...`) for CELGenUserEvent, whose extra is
    one argument: the fields separated by `|` instead of `,` (commas inside a dialplan
    function's arguments stay). Quotes would not survive cel_custom's JSON."""
    return re.sub(r",(?=[A-Z][A-Za-z]*: )", "|", body)


@dataclass(frozen=True)
class NoticeSound:
    """An outage notice as the dialplan's fallback plays it: its own window (epoch
    seconds, checked against Asterisk's clock, so it expires without the service)."""

    id: int
    sound: Path  # as Asterisk sees it, without extension
    starts: int
    ends: int


@dataclass(frozen=True)
class Staff:
    endpoint: str
    contact: str | None


def oncall_dial_chain(config: HotlineConfig, people: Sequence[OnCall] | None = None) -> str:
    """'PJSIP/oncall1^20^oncall1&...': whom to ring, for how long, in order; the journal
    knows people by their endpoint ids (names are shown from the config)."""
    cadence = config.hotline.ring_cadence_seconds
    return "&".join(
        f"PJSIP/{person.endpoint}^{round(person.rings * cadence)}^{person.endpoint}"
        for person in (config.oncall if people is None else people)
    )


def night_transfer_keys(config: HotlineConfig) -> list[str]:
    night = set(config.hotline.night_transfer)
    return sorted(key for key, service in config.menu.keys.items() if service in night)


# Asterisk's config holds the AMI secret, the ARI password and every SIP password: only
# the user Asterisk runs as (the service's own user, see docker/) and its group read it.
CONFIG_FILE_MODE = 0o640
CONFIG_DIR_MODE = 0o750


def render_configs(
    config: HotlineConfig,
    secrets: Secrets,
    instance: Instance,
    sounds: dict[str, Path],
    *,
    config_path: Path = Path("hotline.toml"),
    bench_line: str | None = None,
    today: date | None = None,
    notices: Sequence[NoticeSound] = (),
) -> dict[str, str]:
    """Every Asterisk config file of the instance as text (file name -> content)."""
    env = _environment()
    schedule = config.schedule
    start = today or datetime.now(config.hotline.zone).date()
    staff = [Staff(a.endpoint, a.contact) for a in config.agents]
    staff += [Staff(o.endpoint, o.contact) for o in config.oncall]
    context = {
        "config": config,
        "config_path": config_path,
        "secrets": secrets,
        "inst": instance.inner,
        "modules": MODULES,
        "ami_events": AMI_EVENTS,
        "staff": staff,
        "tz": config.hotline.timezone,
        "sounds": {name: instance.to_inner(path) for name, path in sounds.items()},
        "voicemail_dir": instance.to_inner(instance.voicemail),
        "recordings_dir": instance.to_inner(instance.recordings),
        "cel_file": instance.to_inner(instance.cel_log),
        "week_conditions": schedule.asterisk_time_conditions(Service.consultation),
        "workday_conditions": schedule.asterisk_workday_conditions(Service.consultation),
        "closed_dates": [d.strftime("%Y%m%d") for d in schedule.closed_dates(start, HORIZON_DAYS)],
        "open_dates": [d.strftime("%Y%m%d") for d in schedule.open_dates(start, HORIZON_DAYS)],
        "oncall_all": oncall_dial_chain(config),
        "night_keys": night_transfer_keys(config),
        "bench_line": bench_line,
        "notices": notices,
        "carrier": config.carrier,
        "carrier_password": config.carrier.password() if config.carrier else "",
        "outbound": config.outbound.rules,
        "outbound_caller_id": config.outbound_caller_id,
    }
    texts = {name: env.get_template(f"{name}.j2").render(context) for name in CONFIG_FILES}
    texts.update({name: "" for name in EMPTY_FILES})
    return texts


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["cel_extra"] = cel_extra
    return env


def write_notices_dialplan(instance: Instance, notices: Sequence[NoticeSound]) -> Path:
    """Rewrite only the notices' part of the dialplan (`dialplan reload` reads it)."""
    text = _environment().get_template(f"{NOTICES_FILE}.j2").render({"notices": notices})
    target = instance.etc / NOTICES_FILE
    write_private(target, text)
    return target


def render(
    config: HotlineConfig,
    secrets: Secrets,
    instance: Instance,
    sounds: dict[str, Path],
    *,
    config_path: Path = Path("hotline.toml"),
    bench_line: str | None = None,
    today: date | None = None,
    notices: Sequence[NoticeSound] = (),
) -> list[Path]:
    """Write every Asterisk config file of the instance (mode 0640 in a 0750 directory);
    returns the files written. `sounds` maps prompt names to host paths without extension.
    Everything is rendered before the first file is replaced."""
    texts = render_configs(
        config, secrets, instance, sounds,
        config_path=config_path, bench_line=bench_line, today=today, notices=notices,
    )  # fmt: skip
    instance.host.chmod(CONFIG_DIR_MODE)
    instance.etc.chmod(CONFIG_DIR_MODE)
    written = []
    for name, text in texts.items():
        target = instance.etc / name
        write_private(target, text)
        if name in CONFIG_FILES:
            written.append(target)
    return written


def write_private(target: Path, text: str) -> None:
    """Replace `target` atomically with a file of mode 0640 from its first byte."""
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, CONFIG_FILE_MODE)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), CONFIG_FILE_MODE)  # whatever the umask
        out.write(text)
    tmp.replace(target)
