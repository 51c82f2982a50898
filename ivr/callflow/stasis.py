"""ARI event handlers: each event becomes one call to the call-flow service (the
connection's own comings and goings too: adopt what was stranded, release what is
no longer driven)."""

from __future__ import annotations

import structlog

from ivr.ari.client import AriClient, Json
from ivr.callflow.service import CallFlowService

log = structlog.get_logger(__name__)


class StasisHandlers:
    def __init__(self, ari: AriClient, service: CallFlowService) -> None:
        self.ari = ari
        self.service = service
        self.last_event_at: str | None = None

    async def run(self) -> None:
        async for event in self.ari.events():
            try:
                await self.dispatch(event)
            except Exception:  # one bad event must not stop the controller
                log.exception("stasis.event_failed", event_type=event.get("type"))

    async def dispatch(self, event: Json) -> None:
        kind = event.get("type")
        self.last_event_at = event.get("timestamp", self.last_event_at)
        if kind == "StasisStart":
            channel = event["channel"]
            args = event.get("args") or ["unknown"]
            self.service.take_call(
                channel["id"],
                line=args[0],
                caller=channel.get("caller", {}).get("number", ""),
                answered=channel.get("state") == "Up",
                started=event.get("timestamp"),
            )
        elif kind == "ChannelDtmfReceived":
            self.service.digit_pressed(event["channel"]["id"], event["digit"])
        elif kind in ("PlaybackFinished", "PlaybackFailed"):
            self.service.playback_finished(event["playback"]["id"])
        elif kind in ("ChannelHangupRequest", "ChannelDestroyed"):
            self.service.caller_left(event["channel"]["id"])
        elif kind == "StasisEnd":
            self.service.left_stasis(event["channel"]["id"])
        elif kind == "HotlineConnected":
            await self._adopt_stranded_calls()
        elif kind == "HotlineDisconnected":
            await self.service.connection_lost()

    async def _adopt_stranded_calls(self) -> None:
        channels = await self.ari.channels()
        app = self.ari.app
        stranded = [
            ch["id"]
            for ch in channels
            if ch.get("dialplan", {}).get("app_name") == "Stasis"
            and str(ch.get("dialplan", {}).get("app_data", "")).startswith(app)
        ]
        await self.service.adopt_stranded(stranded)
