"""What the call controller does with a call: answer, greet, menu or off-hours path,
then hand the call to the dialplan context that finishes it (queue, on-call chain,
voicemail). Both the ARI handlers and any REST resource go through this service.

No call is left in Stasis: whatever goes wrong in a call's task, when the ARI websocket
drops, and when the controller stops, each call still in its hands is continued into
the dialplan's fallback (the same schedule, without Python). A call that cannot be
handed over then (Asterisk unreachable) is found in Stasis on the next connection and
handed over then (`adopt_stranded`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

import aiohttp
import structlog

from ivr.ari.client import AriClient, AriError
from ivr.asterisk.render import oncall_dial_chain
from ivr.callflow.call import Call, CallGone, CallState
from ivr.callflow.overload import OverloadGuard
from ivr.callflow.policy import RoutingPolicy
from ivr.clock import Clock
from ivr.domain.events import EventKind, EventSink, JournalEvent, Scalar
from ivr.domain.notices import Notice, active_notices
from ivr.domain.vocabulary import Service
from ivr.prompts import AREA_PROMPT

log = structlog.get_logger(__name__)

PERSON_CONTEXT = "hotline-person"
ONCALL_CONTEXT = "hotline-oncall"
VOICEMAIL_CONTEXT = "hotline-voicemail"
FALLBACK_CONTEXT = "hotline-fallback"
SHED_CONTEXT = "hotline-shed"  # the dialplan's own greeting and menu, for a shed call
HANDED_OFF_MEMORY = 10_000  # adopted channels remembered until their StasisEnd


class CallFlowService:
    def __init__(
        self,
        ari: AriClient,
        policy: Callable[[], RoutingPolicy],
        journal: EventSink,
        clock: Clock,
        media: Mapping[str, str],
        overload: OverloadGuard | None = None,
        notices: Callable[[], Sequence[Notice]] = tuple,
    ) -> None:
        self.ari = ari
        self.overload = overload
        self.notices = notices  # outage notices that may play (posted, not expired)
        self.policy = policy
        self.journal = journal
        self.clock = clock
        self.media = media  # prompt name -> ARI media URI
        self.calls: dict[str, Call] = {}
        self._playbacks: dict[str, Call] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}  # by channel
        # channels handed to the fallback, until their StasisEnd: a StasisStart still on
        # its way for one of them (adopted on reconnect) must not start a second task
        self._handed_off: dict[str, None] = {}
        self.failed_tasks = 0  # tasks that ended in an exception (a bug: should stay 0)
        self.failed_calls = 0  # calls whose task met an error and handed them over
        self.fallbacks = 0  # calls handed to the dialplan's fallback
        self._side_tasks: set[asyncio.Task[None]] = set()  # shed calls being handed over

    # Entry points (from the ARI handlers)

    def take_call(
        self,
        channel: str,
        line: str,
        caller: str,
        answered: bool = True,
        started: str | None = None,
    ) -> None:
        """A new call in Stasis (`started`: its StasisStart's timestamp)."""
        if channel in self.calls or channel in self._handed_off:
            return  # already ours (adopted on reconnect before its StasisStart came)
        if self.overload is not None and answered:
            reason = self.overload.decide(started, len(self.calls))
            if reason is not None:
                self._shed(channel, line, reason.value)
                return
        call = Call(channel=channel, linkedid=channel, line=line, caller=caller)
        call.needs_answer = not answered
        self.calls[channel] = call
        task = asyncio.create_task(self._handle(call), name=f"call-{channel}")
        self._tasks[channel] = task
        task.add_done_callback(self._task_done)

    def _shed(self, channel: str, line: str, reason: str) -> None:
        """The controller is behind: the call goes at once to the dialplan's own greeting
        and menu, which journal it like any call the dialplan serves alone."""
        self._remember_handed_off(channel)
        task = asyncio.create_task(self._hand_shed(channel, line, reason), name=f"shed-{channel}")
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _hand_shed(self, channel: str, line: str, reason: str) -> None:
        try:
            await self.ari.continue_in_dialplan(channel, SHED_CONTEXT)
        except AriError as exc:  # 404: the caller has gone; 409: no longer in Stasis
            log.info("callflow.shed_not_needed", channel=channel, status=exc.status)
            return
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self._handed_off.pop(channel, None)  # still in Stasis: adopted on reconnect
            log.warning("callflow.shed_unreachable", channel=channel, error=str(exc))
            return
        log.info("callflow.shed", channel=channel, line=line, reason=reason)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        channel = task.get_name().removeprefix("call-")
        if self._tasks.get(channel) is task:
            del self._tasks[channel]
        if not task.cancelled() and task.exception() is not None:  # retrieved, and said
            self.failed_tasks += 1
            log.error("callflow.task_failed", channel=channel, exc_info=task.exception())

    def digit_pressed(self, channel: str, digit: str) -> None:
        call = self.calls.get(channel)
        if call is not None:
            call.press(digit)

    def playback_finished(self, playback_id: str) -> None:
        call = self._playbacks.pop(playback_id, None)
        if call is not None:
            if call.playback == playback_id:
                call.playback = None
            call.playback_done.set()

    def caller_left(self, channel: str) -> None:
        call = self.calls.pop(channel, None)
        if call is None:
            return
        if call.in_ivr:
            self._journal(call, EventKind.caller_hung_up, place=call.place)
        call.hang_up()

    def left_stasis(self, channel: str) -> None:
        self.calls.pop(channel, None)
        self._handed_off.pop(channel, None)

    async def connection_lost(self) -> None:
        """The ARI websocket dropped: no event about these calls will come, so nobody
        can drive them. Hand each to the fallback now (REST may still answer); those
        it cannot reach are adopted when the websocket is back."""
        await self._release_all()

    async def adopt_stranded(self, channels: list[str]) -> None:
        """Channels in our Stasis app that no task drives (a previous connection's or a
        previous controller's): finish them in the dialplan's fallback."""
        stranded = [
            channel for channel in channels
            if channel not in self.calls and channel not in self._handed_off
        ]
        for channel in stranded:
            log.warning("callflow.adopt_stranded", channel=channel)
        await asyncio.gather(*(self._continue_to_fallback(channel) for channel in stranded))

    async def drain(self) -> None:
        """The controller stops: every call still in the IVR goes to the fallback."""
        await self._release_all()

    async def _release_all(self) -> None:
        calls = list(self.calls.values())
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.calls.clear()
        self._playbacks.clear()
        await asyncio.gather(*(self._to_fallback(call) for call in calls))

    async def _to_fallback(self, call: Call) -> None:
        if not call.to_fallback():
            return
        if call.playback is not None:  # Asterisk would finish the prompt before moving on
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                await self.ari.stop_playback(call.playback)
        await self._continue_to_fallback(call.channel)

    async def _continue_to_fallback(self, channel: str) -> None:
        try:
            await self.ari.continue_in_dialplan(channel, FALLBACK_CONTEXT)
        except AriError as exc:  # 404: the caller has gone; 409: no longer in Stasis
            log.info("callflow.fallback_not_needed", channel=channel, status=exc.status)
            return
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("callflow.fallback_unreachable", channel=channel, error=str(exc))
            return  # still in Stasis: adopted on the next connection
        self.fallbacks += 1
        self._remember_handed_off(channel)

    def _remember_handed_off(self, channel: str) -> None:
        self._handed_off[channel] = None
        while len(self._handed_off) > HANDED_OFF_MEMORY:
            del self._handed_off[next(iter(self._handed_off))]

    # The flow

    async def _handle(self, call: Call) -> None:
        policy = self.policy()  # one policy per call: a reload never changes a call midway
        try:
            answered: dict[EventKind, datetime] = {}
            if call.needs_answer:  # the public dialplan answers before Stasis
                await self.ari.answer(call.channel)
                answered[EventKind.ivr_answered] = datetime.now(UTC)
            call.answer()
            now = self.clock.now()
            if policy.in_service_hours(now):
                await self._menu(call, policy, answered)
            else:
                await self._off_hours(call, policy, now, answered)
        except CallGone:
            pass  # the caller left first: nothing to finish
        except AriError as exc:
            if exc.status == 404 or call.state is CallState.hung_up:
                return  # the channel is gone
            log.error("callflow.ari_error", channel=call.channel, error=str(exc))
            self.failed_calls += 1
            await self._to_fallback(call)
        except Exception:  # whatever it was, the caller is served by the dialplan
            log.exception("callflow.failed", channel=call.channel, state=call.state.value)
            self.failed_calls += 1
            await self._to_fallback(call)
        finally:
            if self.calls.get(call.channel) is call and not call.in_ivr:
                del self.calls[call.channel]

    async def _menu(
        self, call: Call, policy: RoutingPolicy, before: dict[EventKind, datetime]
    ) -> None:
        call.move_to(CallState.menu)
        greeting = ["greeting"]
        early = await self._notices(call, policy)  # a key pressed during them: the menu's
        if early is not False:
            greeting = []
        for attempt in range(1, policy.menu_attempts + 1):
            if attempt == 1 and isinstance(early, str):
                digit: str | None = early
            else:
                digit = await self._prompt(
                    call, [*greeting, "menu"], policy.config.menu.timeout_seconds, before
                )
            greeting, before = [], {}
            if policy.is_announcement(digit):
                self._journal(
                    call, EventKind.menu_choice, key=digit, service="announcement",
                    attempt=attempt,
                )
                if not await self._announcement_answers(call, policy):
                    return
                continue
            answer = policy.read_menu_key(digit)
            if answer.service is not None:
                self._journal(
                    call, EventKind.menu_choice, key=digit, service=answer.service.value,
                    attempt=attempt,
                )
                await self._to_person(call, answer.service)
                return
            if answer.timed_out:
                self._journal(call, EventKind.menu_timeout, attempt=attempt)
            else:
                self._journal(call, EventKind.menu_invalid, digits=digit, attempt=attempt)
                if attempt < policy.menu_attempts:
                    await self._prompt(call, ["invalid"], 0)
        await self._to_person(call, policy.menu_default)

    async def _notices(self, call: Call, policy: RoutingPolicy) -> str | bool | None:
        """The outage notices of the moment, right after the greeting: those for everyone,
        then (when some are for areas) the area prompt and the chosen area's. False when
        there are none (the greeting plays with the menu), else the key the caller pressed
        while notices for everyone played (None: heard to the end, each journaled)."""
        now = self.clock.now()
        playable = [n for n in self.notices() if n.prompt in self.media]
        everyone = active_notices(playable, now)
        for_areas = [n for n in playable if n.areas and n.active_at(now)]
        if not everyone and not for_areas:
            return False
        digit = await self._prompt(call, ["greeting", *(n.prompt for n in everyone)], 0)
        if digit is not None:
            return digit
        self._heard(call, everyone)
        if for_areas and AREA_PROMPT in self.media:
            area = await self._prompt(call, [AREA_PROMPT], policy.config.menu.timeout_seconds)
            chosen = [n for n in active_notices(for_areas, now, area) if n.areas]
            if chosen and await self._prompt(call, [n.prompt for n in chosen], 0) is None:
                self._heard(call, chosen, area=area)
        return None

    def _heard(self, call: Call, notices: list[Notice], area: str | None = None) -> None:
        for notice in notices:
            if area:
                self._journal(call, EventKind.notice_heard, notice=notice.id, area=area)
            else:
                self._journal(call, EventKind.notice_heard, notice=notice.id)

    async def _announcement_answers(self, call: Call, policy: RoutingPolicy) -> bool:
        """Play the announcement; a caller who heard it and wants nothing more is done
        (`ivr_completed`), and the controller ends the call after a while. Returns
        whether the caller pressed a key to go back to the menu."""
        if await self._prompt(call, ["announcement"], 0) is not None:
            return True  # interrupted: not heard to its end
        self._journal(call, EventKind.announcement_completed, prompt="announcement")
        again = await self._first_of_digit(
            call, until=asyncio.sleep(policy.config.menu.timeout_seconds)
        )
        if again is not None:
            return True
        call.route()
        await self.ari.hangup(call.channel)
        return False

    async def _off_hours(
        self,
        call: Call,
        policy: RoutingPolicy,
        now: datetime,
        before: dict[EventKind, datetime],
    ) -> None:
        call.move_to(CallState.off_hours)
        # journaled once the prompt is asked for (the caller hears it sooner), at the
        # moment the call went off-hours
        decided = {**before, EventKind.off_hours: datetime.now(UTC)}
        digit = await self._prompt(
            call, ["off_hours"], policy.config.menu.timeout_seconds, before=decided
        )
        if digit is not None and policy.is_night_transfer(digit):
            service = policy.config.menu.keys[digit]
            self._journal(call, EventKind.menu_choice, key=digit, service=service.value, attempt=1)
            chain = oncall_dial_chain(policy.config, policy.oncall_chain(now))
            await self.ari.set_variable(call.channel, "__HOTLINE_SERVICE", service.value)
            await self.ari.set_variable(call.channel, "HOTLINE_ONCALL", chain)
            await self._leave(call, ONCALL_CONTEXT)
            return
        if digit is not None:
            self._journal(call, EventKind.menu_choice, key=digit, service="voicemail", attempt=1)
        await self._leave(call, VOICEMAIL_CONTEXT)

    async def _to_person(self, call: Call, service: Service) -> None:
        await self.ari.set_variable(call.channel, "__HOTLINE_SERVICE", service.value)
        await self._leave(call, PERSON_CONTEXT)

    async def _leave(self, call: Call, context: str) -> None:
        self._raise_if_gone(call)
        call.route()
        await self.ari.continue_in_dialplan(call.channel, context)

    async def _prompt(
        self,
        call: Call,
        prompts: list[str],
        wait_after: float,
        before: Mapping[EventKind, datetime] | None = None,
    ) -> str | None:
        """Play prompts; the first digit pressed (during or after them) ends the wait.
        The play request goes first: what is journaled about it (and `before`, steps
        taken just before it, with their own times) follows, so the caller's silence
        never waits on the journal."""
        self._raise_if_gone(call)
        call.forget_digits()
        call.playback_done.clear()
        playback = str(uuid.uuid4())
        self._playbacks[playback] = call
        call.playback = playback
        asked = datetime.now(UTC)
        await self.ari.play(call.channel, [self.media[name] for name in prompts], playback)
        for kind, at in (before or {}).items():
            self._journal(call, kind, at=at)
        self._journal(call, EventKind.prompt_played, at=asked, prompt=",".join(prompts))
        digit = await self._first_of_digit(call, until=call.playback_done.wait())
        if digit is not None:
            await self.ari.stop_playback(playback)
            self._playbacks.pop(playback, None)
            call.playback = None
            return digit
        if wait_after <= 0:
            return None
        return await self._first_of_digit(call, until=asyncio.sleep(wait_after))

    async def _first_of_digit(self, call: Call, until: Awaitable[object]) -> str | None:
        digit_task = asyncio.ensure_future(call.digits.get())
        other = asyncio.ensure_future(until)
        gone = asyncio.ensure_future(call.gone.wait())
        try:
            await asyncio.wait({digit_task, other, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (other, gone, digit_task):
                task.cancel()  # a no-op on the one that is done
        if digit_task.done() and not digit_task.cancelled():
            return digit_task.result()
        self._raise_if_gone(call)
        return None

    @staticmethod
    def _raise_if_gone(call: Call) -> None:
        if call.gone.is_set():
            raise CallGone(call.channel)

    def _journal(
        self, call: Call, kind: EventKind, at: datetime | None = None, **data: Scalar
    ) -> None:
        self.journal.emit(
            JournalEvent(
                linkedid=call.linkedid,
                kind=kind,
                # journal times are real; only routing decisions ask the (settable) clock
                at=at or datetime.now(UTC),
                source="ari",
                data={"line": call.line, "channel": call.channel, **data},
            )
        )
