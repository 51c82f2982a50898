"""Live: calls in the IVR, waiting and talking, agents and their state, last events."""

from __future__ import annotations

from fastapi import APIRouter

from ivr.api.context import Ctx, Viewer
from ivr.api.schemas import AUTH, AgentOut, IvrCallOut, LiveOut
from ivr.auth.roles import shown_number

router = APIRouter(prefix="/api", tags=["live"], responses=AUTH)


@router.get("/live", response_model=LiveOut)
async def live(ctx: Ctx, who: Viewer) -> LiveOut:
    """What is happening now."""
    view = ctx.live
    state = view.state()
    names = ctx.config().person_name
    agents = sorted(state.agents.values(), key=lambda a: a.name)
    return LiveOut(
        ari_connected=view.ari_connected(),
        ami_connected=view.ami_connected(),
        in_ivr=[
            IvrCallOut(
                channel=call.channel,
                linkedid=call.linkedid,
                line=call.line,
                caller=shown_number(call.caller, who.role),
                state=call.state,
            )
            for call in view.calls_in_ivr()
        ],
        waiting=len(state.waiting),
        talking=len(state.talking),
        agents=[
            AgentOut(
                name=names(a.endpoint) or a.name,
                endpoint=a.endpoint,
                interface=a.interface,
                state=a.state,
                paused=a.paused,
            )
            for a in agents
        ],
        agents_by_state=state.agents_by_state(),
        recent_events=[dict(event) for event in list(state.recent)],
    )
