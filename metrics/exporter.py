"""The Prometheus exporter: collectors over the journal store and the live view.

Counters are the store's all-time sums (they survive restarts and replays); the
calendar ratios (today, this month, in the hotline's time zone) come from the same
report the CLI and the API print; live gauges from AMI and the controller. The store
is async and `collect()` is not, so a scrape first takes a snapshot (`refresh`) and the
collector yields from it. A scrape reads pre-aggregated rows only: it costs the same
with 10 or 10 million calls stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ivr.clock import clock_from_env
from ivr.config import ALL_LINES, HotlineConfig
from ivr.domain.events import RingResult
from ivr.domain.overload import ShedReason
from ivr.domain.rates import Direction, Kpi, RateCounts, kpi
from ivr.domain.record import AbandonPlace, Outcome
from ivr.domain.tally import Tally
from ivr.domain.vocabulary import Service
from ivr.journal.queries import by_node, month_range, report, today_range
from ivr.journal.store import Store
from ivr.journal.writer import WriterStats
from ivr.live import LiveState
from ivr.notices.store import NoticeStore
from ivr.recording.service import RecordingsService
from ivr.spotchecks.service import SpotChecksService
from metrics.forecast import ForecastCollector
from metrics.notices import NoticesCollector
from metrics.spotchecks import SpotChecksCollector
from metrics.weekday_hour import WeekdayHourCollector

RING_RESULTS = tuple(result.value for result in RingResult)


class Health(Protocol):
    """What the exporter reads of the running controller."""

    @property
    def ari_connected(self) -> bool: ...
    @property
    def ami_connected(self) -> bool: ...
    @property
    def calls_in_ivr(self) -> int: ...
    @property
    def last_event_age_seconds(self) -> float | None: ...
    @property
    def calls_shed(self) -> dict[str, int]: ...


@dataclass
class Snapshot:
    totals: dict[tuple[str, str], Tally] = field(default_factory=dict)
    ring_attempts: dict[str, int] = field(default_factory=dict)
    ratios: dict[tuple[str, str, str], float] = field(default_factory=dict)
    averages: dict[tuple[str, str, str], float] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    # several nodes: today's calls by (node, outcome) and ratios by (node, kind)
    node_calls: dict[tuple[str, str], int] = field(default_factory=dict)
    node_ratios: dict[tuple[str, str], float] = field(default_factory=dict)
    taken_at: float = 0.0


@dataclass
class Sources:
    store: Store
    config: Callable[[], HotlineConfig]
    # the live state, or (several nodes) how to get it merged at scrape time
    live: LiveState | Callable[[], LiveState] | None = None
    health: Health | None = None
    writer_stats: Callable[[], WriterStats] | None = None
    callbacks_owed: Callable[[], dict[str, int]] | None = None
    # the toll-fraud guard's refusals by reason, all time (ivr/callbacks/outbound.py)
    outbound_refused: Callable[[], dict[str, int]] | None = None
    # more families over capabilities' own cached counts (work orders, the outbox)
    extra: tuple[Callable[[], Iterator[Metric]], ...] = ()
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # the clock routing reads (HOTLINE_NOW or a test may shift it), for "in service hours"
    routing_clock: Callable[[], datetime] = field(default_factory=lambda: clock_from_env().now)
    # several nodes: which node's Asterisk runs with the service attached (name -> up)
    nodes_up: Callable[[], dict[str, bool]] | None = None
    notices: NoticeStore | None = None  # outage notices and the calls that heard them
    recordings: RecordingsService | None = None  # recorded calls on disk
    spotchecks: SpotChecksService | None = None  # the quarter's spot checks


async def take_snapshot(sources: Sources) -> Snapshot:
    config = sources.config()
    zone = config.hotline.timezone
    now = sources.clock()
    snapshot = Snapshot(
        totals=await sources.store.totals(),
        refused=await sources.store.refused_totals(),
        taken_at=time.monotonic(),
    )
    attempts = await sources.store.ring_totals()
    for (_, role, result), (count, _) in attempts.items():
        if role == "agent":
            snapshot.ring_attempts[result] = snapshot.ring_attempts.get(result, 0) + count
    for period, (start, end) in (
        ("today", today_range(now, zone)),
        ("month", month_range(now.astimezone(config.hotline.zone).strftime("%Y-%m"), zone)),
    ):
        periodic = await report(sources.store, start, end, zone=zone, targets=config.targets.values)
        _add_ratios(snapshot, ALL_LINES, period, periodic.kpi)
        for line, piece in periodic.per_line.items():
            _add_ratios(snapshot, line, period, piece.kpi)
    if config.nodes:  # the merged figures above; today's split by node beside them
        start, end = today_range(now, zone)
        split = await by_node(sources.store, start, end, targets=config.targets.values)
        for node, piece in split.items():
            for outcome, count in piece.tally.outcomes().items():
                snapshot.node_calls[(node, outcome.value)] = count
            snapshot.node_calls[(node, "in_progress")] = piece.tally.in_progress
            for rate in piece.kpi.all:
                if rate.value is not None and rate.unit == "share":
                    snapshot.node_ratios[(node, rate.name)] = rate.value
    return snapshot


def _add_ratios(snapshot: Snapshot, line: str, period: str, kpi: Kpi) -> None:
    for rate in kpi.all:
        if rate.value is None:
            continue
        values = snapshot.ratios if rate.unit == "share" else snapshot.averages
        values[(line, rate.name, period)] = rate.value


class HotlineCollector(Collector):
    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.snapshot = Snapshot()

    async def refresh(self) -> None:
        self.snapshot = await take_snapshot(self.sources)

    def collect(self) -> Iterator[Metric]:
        config = self.sources.config()
        yield from self._counters(config)
        yield from self._histograms(config)
        yield from self._ratios(config)
        yield from self._live(config)
        if config.nodes:
            yield from self._nodes(config)

    def _nodes(self, config: HotlineConfig) -> Iterator[Metric]:
        """Several nodes: each node's part of today's calls (the merged families above
        count them all), and whether each node's Asterisk is up."""
        calls = GaugeMetricFamily(
            "hotline_node_calls_today", "calls that arrived today, by node and outcome",
            labels=["node", "outcome"],
        )
        for (node, outcome), count in sorted(self.snapshot.node_calls.items()):
            calls.add_metric([node, outcome], count)
        ratio = GaugeMetricFamily(
            "hotline_node_ratio", "today's SPEC §3 ratios by node (0-1)",
            labels=["node", "kind", "period"],
        )
        for (node, kind), value in sorted(self.snapshot.node_ratios.items()):
            ratio.add_metric([node, kind, "today"], value)
        up = GaugeMetricFamily(
            "hotline_node_up", "1 while the node's Asterisk runs with the service attached",
            labels=["node"],
        )
        states = self.sources.nodes_up() if self.sources.nodes_up else {}
        for name in (n.name for n in config.nodes):
            up.add_metric([name], int(states.get(name, False)))
        yield from (calls, ratio, up)

    def _line_tallies(self, config: HotlineConfig) -> dict[tuple[str, str], Tally]:
        """Every configured line from zero, so increase() sees the first call."""
        tallies = {(line.name, line.mode.value): Tally() for line in config.lines}
        tallies.update(self.snapshot.totals)
        return tallies

    def _counters(self, config: HotlineConfig) -> Iterator[Metric]:
        tallies = self._line_tallies(config)
        simple = {
            "hotline_calls_offered": ("calls that reached a line, busy included", "offered"),
            "hotline_calls_ivr_answered": ("calls the IVR answered", "ivr_answered"),
            "hotline_calls_human_requested": ("calls that asked for a person",
                                              "human_requested"),
            "hotline_calls_answered_by_person": ("calls an agent or on-call person answered",
                                                 "answered_by_person"),
            "hotline_calls_unanswered": ("calls answered by nobody, no IVR, no voicemail "
                                         "(busy calls apart)", "unanswered"),
            "hotline_calls_within_three_rings": ("calls a person answered within three rings "
                                                 "of their own phone",
                                                 "answered_within_three_rings"),
            "hotline_calls_queued": ("calls that entered the queue or the on-call chain",
                                     "queued"),
            "hotline_calls_in_service_level": ("queued calls answered within the service "
                                               "level's seconds", "answered_in_service_level"),
            "hotline_calls_handled": ("calls answered by a person with a handling time",
                                      "handled"),
            "hotline_ring_attempts_judged": ("phones rung that were judged by the three-rings "
                                             "rule", "ring_attempts"),
            "hotline_ring_attempts_within_three_rings": ("phones answered within three rings",
                                                         "ring_attempts_within_three_rings"),
            "hotline_voicemails": ("voicemails (the caller reached the beep)",
                                   "outcome_voicemail"),
            "hotline_voicemails_empty": ("voicemails with nothing said", "voicemail_empty"),
        }
        for name, (help_text, attribute) in simple.items():
            family = CounterMetricFamily(name, help_text, labels=["line", "mode"])
            for (line, mode), tally in sorted(tallies.items()):
                family.add_metric([line, mode], getattr(tally, attribute))
            yield family
        seconds = {
            "hotline_queue_seconds": ("queue time of the queued calls", "queue_ms_sum"),
            "hotline_handling_seconds": ("talk + wrap-up of the handled calls",
                                         "handling_ms_sum"),
        }
        for name, (help_text, attribute) in seconds.items():
            family = CounterMetricFamily(name, help_text, labels=["line", "mode"])
            for (line, mode), tally in sorted(tallies.items()):
                family.add_metric([line, mode], getattr(tally, attribute) / 1000)
            yield family
        refused = CounterMetricFamily(
            "hotline_refused", "INVITEs for no hotline line, refused (no call of any line)",
            labels=["reason"],
        )
        for reason, count in sorted(self.snapshot.refused.items()):
            refused.add_metric([reason], count)
        yield refused
        outbound = CounterMetricFamily(
            "hotline_outbound_refused",
            "numbers the toll-fraud guard (or the dialplan's check) refused to dial",
            labels=["reason"],
        )
        counts = self.sources.outbound_refused() if self.sources.outbound_refused else {}
        for reason, count in sorted(counts.items()):
            outbound.add_metric([reason], count)
        yield outbound
        for extra in self.sources.extra:
            yield from extra()
        outcomes = CounterMetricFamily(
            "hotline_calls", "ended calls by outcome", labels=["line", "mode", "outcome"]
        )
        abandoned = CounterMetricFamily(
            "hotline_abandoned", "calls abandoned, by where", labels=["line", "mode", "place"]
        )
        oncall = CounterMetricFamily(
            "hotline_oncall_transfers", "night emergency transfers by result", labels=["result"]
        )
        oncall_counts = {"answered": 0, "failed": 0, "abandoned": 0}
        for (line, mode), tally in sorted(tallies.items()):
            for outcome in Outcome:
                outcomes.add_metric([line, mode, outcome.value],
                                    getattr(tally, f"outcome_{outcome.value}"))
            places = tally.abandoned()
            for place in AbandonPlace:
                abandoned.add_metric([line, mode, place.value], places.get(place, (0, None))[0])
            for result in oncall_counts:
                oncall_counts[result] += getattr(tally, f"oncall_{result}", 0)
        for result, count in oncall_counts.items():
            oncall.add_metric([result], count)
        attempts = CounterMetricFamily(
            "hotline_agent_ring_attempts", "agent phones rung by the queue, by result",
            labels=["result"],
        )
        for result in RING_RESULTS:
            attempts.add_metric([result], self.snapshot.ring_attempts.get(result, 0))
        yield from (outcomes, abandoned, oncall, attempts)

    def _histograms(self, config: HotlineConfig) -> Iterator[Metric]:
        wait = HistogramMetricFamily(
            "hotline_person_wait_seconds",
            "speed of answer: from asking for a person to the answer", labels=["line", "mode"],
        )
        rings = HistogramMetricFamily(
            "hotline_answer_rings", "rings of the answering person's phone",
            labels=["line", "mode"],
        )
        for (line, mode), tally in sorted(self._line_tallies(config).items()):
            buckets = [(_le(bound), count) for bound, count in tally.answer_buckets()]
            wait.add_metric([line, mode], buckets, tally.answer_ms_sum / 1000)
            ring_counts = list(tally.rings().values())
            running, ring_buckets = 0, []
            for n, count in enumerate(ring_counts[:-1], start=1):
                running += count
                ring_buckets.append((str(float(n)), running))
            running += ring_counts[-1]
            ring_buckets.append(("+Inf", running))
            rings.add_metric([line, mode], ring_buckets, tally.rings_sum)
        yield from (wait, rings)

    def _ratios(self, config: HotlineConfig) -> Iterator[Metric]:
        ratio = GaugeMetricFamily(
            "hotline_ratio", "SPEC §3 ratios by calendar period (0-1)",
            labels=["line", "kind", "period"],
        )
        for (line, kind, period), value in sorted(self.snapshot.ratios.items()):
            ratio.add_metric([line, kind, period], value)
        average = GaugeMetricFamily(
            "hotline_average", "SPEC §3 averages by calendar period (seconds, or rings)",
            labels=["line", "kind", "period"],
        )
        for (line, kind, period), value in sorted(self.snapshot.averages.items()):
            average.add_metric([line, kind, period], value)
        target = GaugeMetricFamily(
            "hotline_target_ratio", "the target of each ratio", labels=["kind"]
        )
        bound = GaugeMetricFamily(
            "hotline_target_average", "the bounds of each average", labels=["kind", "bound"]
        )
        for rate in kpi(RateCounts(), config.targets.values).all:
            if rate.unit == "share":
                target.add_metric([rate.name], rate.target)
                continue
            if rate.direction is not Direction.at_most:
                bound.add_metric([rate.name, "min"], rate.target)
            upper = rate.upper if rate.direction is Direction.between else rate.target
            if rate.direction is not Direction.at_least and upper is not None:
                bound.add_metric([rate.name, "max"], upper)
        yield from (ratio, average, target, bound)

    def _live(self, config: HotlineConfig) -> Iterator[Metric]:
        live, health = self.sources.live, self.sources.health
        if callable(live):
            live = live()
        yield _gauge("hotline_calls_in_ivr", "calls in the IVR now",
                     health.calls_in_ivr if health else 0)
        yield _gauge("hotline_calls_waiting", "callers waiting in the queue now",
                     len(live.waiting) if live else 0)
        yield _gauge("hotline_calls_talking", "callers talking to an agent now",
                     len(live.talking) if live else 0)
        agents = GaugeMetricFamily("hotline_agents", "agents by state", labels=["state"])
        states = live.agents_by_state() if live else {}
        for state in ("logged_in", "available", "busy", "paused"):
            agents.add_metric([state], states.get(state, 0))
        yield agents
        in_hours = config.schedule.is_open(Service.consultation, self.sources.routing_clock())
        yield _gauge("hotline_in_service_hours", "1 inside consultation hours", int(in_hours))
        owed = GaugeMetricFamily(
            "hotline_callbacks_owed", "callback tasks still open", labels=["priority"]
        )
        counts = self.sources.callbacks_owed() if self.sources.callbacks_owed else {}
        for priority in ("emergency", "repair", "normal"):
            owed.add_metric([priority], counts.get(priority, 0))
        yield owed
        yield _gauge("hotline_ari_connected", "1 while the ARI websocket is up",
                     int(bool(health and health.ari_connected)))
        yield _gauge("hotline_ami_connected", "1 while AMI is logged in",
                     int(bool(health and health.ami_connected)))
        shed = CounterMetricFamily(
            "hotline_calls_shed",
            "new calls sent at once to the dialplan's own menu because the controller was "
            "behind, by why (since the controller started)",
            labels=["reason"],
        )
        counts = health.calls_shed if health else {}
        for reason in ShedReason:
            shed.add_metric([reason.value], counts.get(reason.value, 0))
        yield shed
        age = health.last_event_age_seconds if health else None
        if age is not None:
            yield _gauge("hotline_last_event_age_seconds", "seconds since the last AMI event",
                         age)
        if self.sources.recordings is not None:
            use = self.sources.recordings.disk_use()
            yield _gauge("hotline_recordings_bytes", "disk used by call recordings", use.bytes)
            yield _gauge("hotline_recordings_files", "call recordings kept", use.files)
        stats = self.sources.writer_stats() if self.sources.writer_stats else None
        yield _gauge("hotline_journal_spooled_events",
                     "journal events waiting in the spool for the database",
                     stats.spool_pending if stats else 0)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else str(float(bound))


class Exporter:
    """One registry with the hotline collector; `render()` refreshes and serialises."""

    def __init__(self, sources: Sources) -> None:
        self.collector = HotlineCollector(sources)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self.weekday_hour = WeekdayHourCollector(sources.store, sources.config, sources.clock)
        self.registry.register(self.weekday_hour)
        self.forecast = ForecastCollector(sources.store, sources.config, sources.clock)
        self.registry.register(self.forecast)
        self.notices: NoticesCollector | None = None
        if sources.notices is not None:
            self.notices = NoticesCollector(sources.notices, sources.routing_clock)
            self.registry.register(self.notices)

        self.spotchecks: SpotChecksCollector | None = None
        if sources.spotchecks is not None:
            self.spotchecks = SpotChecksCollector(sources.spotchecks)
            self.registry.register(self.spotchecks)

    async def render(self) -> bytes:
        await self.collector.refresh()
        if self.spotchecks is not None:
            await self.spotchecks.refresh()
        if self.notices is not None:
            await self.notices.refresh()
        await self.weekday_hour.refresh()
        await self.forecast.refresh()
        return generate_latest(self.registry)
