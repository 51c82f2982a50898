"""The spool file: durable appends, replay from a file of its own, unreadable lines set
aside rather than lost or fatal."""

from __future__ import annotations

from pathlib import Path

from ivr.journal.spool import Spool
from tests.unit.test_outcomes import answered_by_agent


def test_spooled_events_read_back_in_chunks(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "journal.spool")
    events = answered_by_agent().events
    assert not spool.pending
    assert spool.append(events[:4]) == 4
    spool.append(events[4:])
    assert spool.pending and spool.size_bytes > 0
    assert spool.pending_events == len(events)
    file = spool.take()
    assert file is not None
    assert [len(chunk) for chunk in spool.read(file, chunk=4)] == [4, 4, 1]
    assert [e for chunk in spool.read(file) for e in chunk] == events
    spool.finish(file)
    assert not spool.pending and spool.take() is None
    assert spool.pending_events == 0


def test_events_spooled_during_a_replay_go_to_a_fresh_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "journal.spool")
    first, later = answered_by_agent("a").events, answered_by_agent("b").events
    spool.append(first)
    replaying = spool.take()
    assert replaying is not None
    spool.append(later)  # while the replay runs
    assert [e for chunk in spool.read(replaying) for e in chunk] == first
    spool.finish(replaying)
    assert spool.pending
    following = spool.take()
    assert following is not None
    assert [e for chunk in spool.read(following) for e in chunk] == later


def test_an_interrupted_replay_is_taken_up_again_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "journal.spool")
    spool.append(answered_by_agent("a").events)
    assert spool.take() == spool.replaying  # ... and the process died here
    spool.append(answered_by_agent("b").events)
    again = Spool(tmp_path / "journal.spool")  # the next start counts what waits
    assert again.pending
    assert again.pending_events == 2 * len(answered_by_agent().events)
    assert again.take() == again.replaying
    assert {e.linkedid for chunk in again.read(again.replaying) for e in chunk} == {"a"}


def test_a_torn_or_damaged_line_is_set_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "journal.spool")
    events = answered_by_agent().events
    spool.append(events[:2])
    with spool.path.open("a") as damaged:
        damaged.write('{"linkedid": "x", "kind": "no_such_kind", "at": "2026-11-03T02:00:00+00:00"'
                      ', "source": "ami"}\n')
        damaged.write("\n")
    spool.append(events[2:])
    with spool.path.open("a") as torn:
        torn.write('{"linkedid": "17621')  # the process died mid-write
    file = spool.take()
    assert file is not None
    assert [e for chunk in spool.read(file) for e in chunk] == events
    rejected = spool.rejected.read_text().splitlines()
    assert len(rejected) == 2
    assert "no_such_kind" in rejected[0]
