"""Calling a customer back: ring the agent's phone first, then, once the agent
answers, dial the customer from the dialplan.

The public context has no outbound route (toll fraud), so the call is originated over
ARI into a context of its own, `hotline-callback`, that no endpoint has as its context:
only this service can reach it. The extension is the customer's number; the dialplan
checks that the channel carries HOTLINE_CALLBACK_TASK, sets the hotline's public
number as the caller ID and dials out through the carrier trunk. In
`dialplan/extensions.conf.j2` (`carrier` being the outbound trunk's endpoint):

    [hotline-callback]
    exten => _X.,1,GotoIf($["${HOTLINE_CALLBACK_TASK}" = ""]?refuse)
     same => n,Set(CALLERID(num)={{ config.lines[0].number }})
     same => n,Dial(PJSIP/${EXTEN}@carrier,45)
     same => n,Hangup()
     same => n(refuse),Hangup(21)
"""

from __future__ import annotations

import re
import uuid
from typing import Protocol

import aiohttp

from ivr.ari.client import AriClient, AriError

CALLBACK_CONTEXT = "hotline-callback"
TASK_VARIABLE = "HOTLINE_CALLBACK_TASK"
AGENT_VARIABLE = "HOTLINE_CALLBACK_AGENT"
DIALLABLE = re.compile(r"\+?[0-9]{3,20}")  # always fullmatch: `$` lets a newline through


class OriginateError(RuntimeError):
    """The call could not be started; the message says why."""


class Originator(Protocol):
    async def originate(self, agent_endpoint: str, customer: str, task: str) -> str:
        """Ring `agent_endpoint`; when answered, dial `customer`. Returns the id of the
        agent's channel. Raises OriginateError when Asterisk refuses."""
        ...


class AriOriginator:
    """The real one: ARI `POST /channels` to PJSIP/<agent>, continuing into
    `hotline-callback,<customer>,1` when the agent answers."""

    def __init__(self, ari: AriClient, agent_ring_seconds: int = 30) -> None:
        self.ari = ari
        self.agent_ring_seconds = agent_ring_seconds

    async def originate(self, agent_endpoint: str, customer: str, task: str) -> str:
        if not DIALLABLE.fullmatch(customer):
            raise OriginateError(f"{customer!r} is not a number that can be dialled")
        if not self.ari.connected.is_set():
            raise OriginateError("Asterisk (ARI) is not connected")
        channel_id = f"callback-{uuid.uuid4().hex[:16]}"
        params: dict[str, str | int] = {
            "endpoint": f"PJSIP/{agent_endpoint}",
            "context": CALLBACK_CONTEXT,
            "extension": customer,
            "priority": 1,
            # what the agent's phone shows: whom they are about to call back
            "callerId": f'"callback" <{customer}>',
            "timeout": self.agent_ring_seconds,
            "channelId": channel_id,
        }
        body = {"variables": {TASK_VARIABLE: task, AGENT_VARIABLE: agent_endpoint}}
        try:
            await self.ari.request("POST", "/channels", params=params, body=body)
        except AriError as exc:
            raise OriginateError(f"Asterisk refused the call ({exc.status})") from exc
        except (aiohttp.ClientError, ConnectionError, RuntimeError, TimeoutError) as exc:
            raise OriginateError(f"Asterisk could not be asked: {exc}") from exc
        return channel_id
