"""Turn the hotline config into an Asterisk configuration directory (jinja2 templates
in dialplan/). Everything Asterisk reads comes from here, so a reload is a re-render.
"""

from __future__ import annotations

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
    "app_stack.so",
    "app_while.so",
    "app_userevent.so",
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
    "features.conf",
    "stasis.conf",
    "pjsip.conf",
    "queues.conf",
    "extensions.conf",
)

# Read by loaded modules; empty means their defaults (and no error in the log).
EMPTY_FILES = ("acl.conf", "udptl.conf", "pjproject.conf", "websocket_client.conf", "ccss.conf",
               "queuerules.conf")


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


def render(
    config: HotlineConfig,
    secrets: Secrets,
    instance: Instance,
    sounds: dict[str, Path],
    *,
    config_path: Path = Path("hotline.toml"),
    bench_line: str | None = None,
    today: date | None = None,
) -> list[Path]:
    """Write every Asterisk config file of the instance; returns the files written.

    `sounds` maps prompt names to host paths without extension.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
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
        "week_conditions": schedule.asterisk_time_conditions(Service.consultation),
        "workday_conditions": schedule.asterisk_workday_conditions(Service.consultation),
        "closed_dates": [d.strftime("%Y%m%d") for d in schedule.closed_dates(start, HORIZON_DAYS)],
        "open_dates": [d.strftime("%Y%m%d") for d in schedule.open_dates(start, HORIZON_DAYS)],
        "oncall_all": oncall_dial_chain(config),
        "night_keys": night_transfer_keys(config),
        "bench_line": bench_line,
    }
    written = []
    for name in CONFIG_FILES:
        text = env.get_template(f"{name}.j2").render(context)
        target = instance.etc / name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(target)
        written.append(target)
    for name in EMPTY_FILES:
        (instance.etc / name).write_text("")
    return written
