"""Service hours, public holidays, adjusted working days, on-call, and the Asterisk
conditions rendered from the same schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from ivr.clock import FixedClock, OffsetClock, SystemClock, clock_from_env
from ivr.config import HotlineConfig
from ivr.domain.schedule import Schedule
from ivr.domain.vocabulary import Service
from tests.unit.test_config import example_config, variant

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = {
    "consultation": [
        {"days": "mon-fri", "start": "08:00", "end": "17:30"},
        {"days": "sat", "start": "09:00", "end": "12:00"},
    ]
}
LATE_FRIDAY = {
    "consultation": [
        {"days": "mon-thu", "start": "08:00", "end": "18:00"},
        {"days": "fri", "start": "20:00", "end": "02:00"},
    ]
}
NIGHTLY = {"consultation": [{"days": "mon-sun", "start": "20:00", "end": "02:00"}]}


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def schedule(hours: dict[str, Any] | None = None, **holiday_settings: Any) -> Schedule:
    sections: dict[str, Any] = {}
    if hours is not None:
        sections["hours"] = hours
    if holiday_settings:
        sections["holidays"] = {"country": "CN", "public_holidays": True, **holiday_settings}
    config: HotlineConfig = variant(**sections) if sections else example_config()
    return config.schedule


def consultation_open(s: Schedule, when: str) -> bool:
    return s.is_open(Service.consultation, local(when))


# -- a working week ----------------------------------------------------------------------


def test_a_weekday_inside_and_outside_the_hours() -> None:
    s = schedule()  # every day 08:00-20:00
    assert consultation_open(s, "2026-03-02 10:00")  # a Monday
    assert not consultation_open(s, "2026-03-02 06:30")
    assert not consultation_open(s, "2026-03-02 22:00")


def test_the_start_minute_is_open_and_the_end_minute_is_closed() -> None:
    s = schedule()
    assert not consultation_open(s, "2026-03-02 07:59:59")
    assert consultation_open(s, "2026-03-02 08:00")
    assert consultation_open(s, "2026-03-02 19:59:59")
    assert not consultation_open(s, "2026-03-02 20:00")


def test_instants_are_read_in_the_hotline_time_zone() -> None:
    s = schedule()
    assert s.is_open(Service.consultation, datetime(2026, 3, 2, 0, 0, tzinfo=UTC))  # 08:00 local
    assert not s.is_open(Service.consultation, datetime(2026, 3, 1, 23, 59, tzinfo=UTC))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        schedule().is_open(Service.consultation, datetime(2026, 3, 2, 10, 0))


def test_saturday_and_weekday_hours_differ() -> None:
    s = schedule(OFFICE)
    assert consultation_open(s, "2026-03-06 17:29")
    assert not consultation_open(s, "2026-03-06 17:30")
    assert consultation_open(s, "2026-03-07 11:00")  # Saturday morning
    assert not consultation_open(s, "2026-03-07 14:00")
    assert not consultation_open(s, "2026-03-08 10:00")  # Sunday
    assert s.day_kind(date(2026, 3, 7)) == "weekend"
    assert s.day_kind(date(2026, 3, 6)) == "workday"


def test_a_period_past_midnight_belongs_to_the_day_it_started() -> None:
    s = schedule(LATE_FRIDAY)
    assert not consultation_open(s, "2026-03-06 19:59")  # Friday
    assert consultation_open(s, "2026-03-06 23:30")
    assert consultation_open(s, "2026-03-07 01:59")  # Saturday night part of Friday
    assert not consultation_open(s, "2026-03-07 02:00")
    assert not consultation_open(s, "2026-03-06 01:00")  # Thursday has no night part


def test_emergency_is_always_open() -> None:
    s = schedule(OFFICE, closed=[date(2026, 3, 4)])
    for when in ("2026-03-08 03:00", "2026-10-01 12:00", "2026-03-04 10:00"):
        assert s.is_open(Service.emergency, local(when))


def test_services_without_own_hours_follow_consultation() -> None:
    s = schedule({**OFFICE, "repair": [{"days": "mon-sun", "start": "00:00", "end": "24:00"}]})
    assert s.is_open(Service.repair, local("2026-03-08 03:00"))
    assert not s.is_open(Service.billing, local("2026-03-08 03:00"))
    assert s.is_open(Service.person, local("2026-03-02 09:00"))


# -- holidays ----------------------------------------------------------------------------


def test_national_day_is_closed_all_day() -> None:
    s = schedule()
    assert s.day_kind(date(2026, 10, 1)) == "holiday"
    assert s.is_holiday(date(2026, 10, 1))
    assert not consultation_open(s, "2026-10-01 10:00")
    assert consultation_open(s, "2026-10-08 10:00")  # back to work


def test_a_weekend_day_inside_the_national_day_block_is_a_holiday_too() -> None:
    # 2026-10-04 is a Sunday between listed holidays (Sat 10-03 and Mon 10-05): the
    # official notice gives 10-01 to 10-07 off, so a seven-day hotline closes that day too
    assert date(2026, 10, 4) not in holidays.country_holidays("CN", years=2026)
    s = schedule()
    assert s.day_kind(date(2026, 10, 4)) == "holiday"
    assert not consultation_open(s, "2026-10-04 10:00")


def test_an_ordinary_weekend_stays_a_weekend() -> None:
    s = schedule()
    assert s.day_kind(date(2026, 3, 7)) == "weekend"
    assert consultation_open(s, "2026-03-07 10:00")  # the example is open every day


def test_public_holidays_can_be_ignored() -> None:
    s = schedule(public_holidays=False)
    assert s.day_kind(date(2026, 10, 1)) == "workday"
    assert s.day_kind(date(2026, 10, 10)) == "weekend"
    assert consultation_open(s, "2026-10-01 10:00")


def test_the_package_knows_chinas_adjusted_working_days() -> None:
    china = holidays.country_holidays("CN", years=[2025, 2026])
    assert date(2026, 10, 10) in china.weekend_workdays  # a Saturday
    assert date(2025, 10, 11) in china.weekend_workdays  # a Saturday
    assert date(2025, 9, 28) in china.weekend_workdays  # a Sunday
    assert china.is_working_day(date(2026, 10, 10))


def test_an_adjusted_working_saturday_has_a_working_days_hours() -> None:
    s = schedule(OFFICE)
    assert s.day_kind(date(2026, 10, 10)) == "adjusted_workday"
    assert consultation_open(s, "2026-10-10 15:00")  # Monday's hours, not Saturday's
    assert not consultation_open(s, "2026-10-10 17:30")
    assert not consultation_open(s, "2026-10-17 15:00")  # the next Saturday is ordinary
    assert consultation_open(s, "2026-10-17 10:00")


def test_an_adjusted_working_sunday_is_open() -> None:
    s = schedule(OFFICE)
    assert s.day_kind(date(2025, 9, 28)) == "adjusted_workday"
    assert consultation_open(s, "2025-09-28 09:00")
    assert not consultation_open(s, "2025-10-05 09:00")  # a Sunday in the holiday block


def test_config_closed_and_open_dates() -> None:
    s = schedule(
        OFFICE,
        closed=[date(2026, 12, 31)],
        open=[date(2026, 3, 8), date(2026, 10, 2), date(2026, 3, 9)],
    )
    assert s.day_kind(date(2026, 12, 31)) == "holiday"
    assert not consultation_open(s, "2026-12-31 10:00")  # a Thursday, closed by config
    assert s.day_kind(date(2026, 3, 8)) == "adjusted_workday"
    assert consultation_open(s, "2026-03-08 16:00")  # a Sunday opened with Monday's hours
    assert s.day_kind(date(2026, 10, 2)) == "adjusted_workday"
    assert consultation_open(s, "2026-10-02 10:00")  # National Day, opened by config
    assert s.day_kind(date(2026, 3, 9)) == "workday"  # a Monday: open anyway


def test_a_holiday_closes_its_own_night_but_not_the_night_before() -> None:
    s = schedule(NIGHTLY)
    assert consultation_open(s, "2026-10-01 01:00")  # Wednesday 09-30's night
    assert not consultation_open(s, "2026-10-01 21:00")
    assert not consultation_open(s, "2026-10-02 01:00")  # National Day's own night
    assert not consultation_open(s, "2026-10-08 01:00")  # 10-07 is still a holiday
    assert consultation_open(s, "2026-10-09 01:00")


def test_closed_and_open_dates_for_the_dialplan() -> None:
    s = schedule(OFFICE, closed=[date(2026, 10, 12)], open=[date(2026, 10, 11)])
    assert s.closed_dates(date(2026, 9, 30), 14) == [
        date(2026, 10, d) for d in (1, 2, 3, 4, 5, 6, 7, 12)
    ]
    assert s.open_dates(date(2026, 9, 30), 14) == [date(2026, 10, 10), date(2026, 10, 11)]


# -- on call -----------------------------------------------------------------------------


def roster(*people: tuple[str, list[dict[str, str]]]) -> Schedule:
    oncall = [{"name": name, "endpoint": name, "covers": covers} for name, covers in people]
    return variant(oncall=oncall).schedule


def test_the_oncall_chain_is_who_covers_the_minute_in_config_order() -> None:
    s = roster(
        ("day", [{"days": "mon-sun", "start": "08:00", "end": "20:00"}]),
        ("night", [{"days": "mon-sun", "start": "20:00", "end": "08:00"}]),
        ("boss", [{"days": "mon-sun", "start": "00:00", "end": "24:00"}]),
    )
    names = lambda when: [p.name for p in s.oncall_chain(local(when))]  # noqa: E731
    assert names("2026-03-07 22:00") == ["night", "boss"]
    assert names("2026-03-08 07:59") == ["night", "boss"]
    assert names("2026-03-08 08:00") == ["day", "boss"]
    assert names("2026-10-01 12:00") == ["day", "boss"]  # holidays change nobody's roster


def test_oncall_gaps_are_the_uncovered_minutes_of_the_week() -> None:
    s = roster(
        ("weekday", [{"days": "mon-fri", "start": "00:00", "end": "24:00"}]),
        ("saturday", [{"days": "sat", "start": "08:00", "end": "24:00"}]),
    )
    day = 24 * 60
    assert s.oncall_gaps() == [(5 * day, 5 * day + 8 * 60), (6 * day, 7 * day)]
    assert s.oncall_chain(local("2026-03-07 07:00")) == []


def test_a_gap_over_sunday_midnight_is_one_gap() -> None:
    s = roster(("week", [{"days": "mon-sun", "start": "06:00", "end": "22:00"}]))
    day = 24 * 60
    gaps = s.oncall_gaps()
    assert len(gaps) == 7
    assert (6 * day + 22 * 60, 7 * day + 6 * 60) in gaps  # Sunday 22:00 to Monday 06:00


def test_full_cover_has_no_gaps() -> None:
    assert schedule().oncall_gaps() == []


# -- hours as text and as numbers --------------------------------------------------------


def test_describe_hours_in_chinese() -> None:
    assert schedule().describe_hours() == "每天8点至20点，法定节假日除外"
    assert schedule(OFFICE).describe_hours() == (
        "周一至周五8点至17点30分，周六9点至12点，法定节假日除外"
    )
    assert schedule(LATE_FRIDAY, public_holidays=False).describe_hours() == (
        "周一至周四8点至18点，周五20点至次日2点"
    )
    split = {
        "consultation": [
            {"days": "mon,wed,sat-sun", "start": "08:05", "end": "12:00"},
            {"days": "mon,wed,sat-sun", "start": "13:00", "end": "24:00"},
        ]
    }
    assert schedule(split, public_holidays=False).describe_hours() == (
        "周一、周三、周六、周日8点零5分至12点、13点至24点"
    )
    always = {"consultation": [{"days": "mon-sun", "start": "00:00", "end": "24:00"}]}
    assert schedule(always, public_holidays=False).describe_hours() == "每天全天24小时"
    assert schedule().describe_hours(Service.emergency) == "全天24小时"


def test_continuous_and_total_daily_hours() -> None:
    lunch_break = {
        "consultation": [
            {"days": "mon-fri", "start": "08:00", "end": "12:00"},
            {"days": "mon-fri", "start": "13:00", "end": "17:00"},
        ]
    }
    s = schedule(lunch_break)
    assert s.continuous_daily_hours() == {0: 4, 1: 4, 2: 4, 3: 4, 4: 4, 5: 0, 6: 0}
    assert s.daily_hours() == {0: 8, 1: 8, 2: 8, 3: 8, 4: 8, 5: 0, 6: 0}
    assert schedule(NIGHTLY).continuous_daily_hours() == dict.fromkeys(range(7), 6.0)
    overnight = {"consultation": [{"days": "mon-sun", "start": "20:00", "end": "08:00"}]}
    assert schedule(overnight).continuous_daily_hours() == dict.fromkeys(range(7), 12.0)
    always = {"consultation": [{"days": "mon-sun", "start": "00:00", "end": "24:00"}]}
    assert schedule(always).continuous_daily_hours() == dict.fromkeys(range(7), 24.0)
    assert schedule().continuous_daily_hours(Service.emergency) == dict.fromkeys(range(7), 24.0)


# -- Asterisk ----------------------------------------------------------------------------


def test_asterisk_conditions_end_one_minute_early_and_split_nights() -> None:
    assert schedule().asterisk_time_conditions(Service.consultation) == ["08:00-19:59,mon-sun,*,*"]
    assert schedule(OFFICE).asterisk_time_conditions(Service.consultation) == [
        "08:00-17:29,mon-fri,*,*",
        "09:00-11:59,sat,*,*",
    ]
    assert schedule(LATE_FRIDAY).asterisk_time_conditions(Service.consultation) == [
        "08:00-17:59,mon-thu,*,*",
        "20:00-23:59,fri,*,*",
        "00:00-01:59,sat,*,*",
    ]
    sunday_night = {"consultation": [{"days": "sat-sun", "start": "22:00", "end": "00:00"}]}
    assert schedule(sunday_night).asterisk_time_conditions(Service.consultation) == [
        "22:00-23:59,sat-sun,*,*"
    ]
    some_days = {"consultation": [{"days": "mon,wed,fri", "start": "00:00", "end": "24:00"}]}
    assert schedule(some_days).asterisk_time_conditions(Service.consultation) == [
        "00:00-23:59,mon&wed&fri,*,*"
    ]
    assert schedule().asterisk_time_conditions(Service.emergency) == ["*,*,*,*"]
    assert schedule(NIGHTLY).asterisk_workday_conditions(Service.consultation) == [
        "00:00-01:59,*,*,*",
        "20:00-23:59,*,*,*",
    ]
    assert schedule(OFFICE).asterisk_workday_conditions(Service.consultation) == [
        "08:00-17:29,*,*,*"
    ]


ASTERISK_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def asterisk_matches(condition: str, when: datetime) -> bool:
    """What Asterisk's ast_check_timing answers (main/pbx_timing.c): the end minute of a
    time range is included and a range wraps within the same day; weekday ranges cycle."""
    times, weekdays, mdays, months = condition.split(",")
    assert mdays == "*" and months == "*"
    minutes: set[int] = set()
    for part in times.split("&"):
        if part == "*":
            minutes.update(range(1440))
            continue
        first, last = part.split("-")
        start = int(first[:2]) * 60 + int(first[3:])
        end = int(last[:2]) * 60 + int(last[3:])
        assert 0 <= end < 1440, "Asterisk refuses 24:00"
        minute = start
        while minute != end:
            minutes.add(minute)
            minute = (minute + 1) % 1440
        minutes.add(end)
    days: set[int] = set()
    for part in weekdays.split("&"):
        if part == "*":
            days.update(range(7))
            continue
        first, _, last = part.partition("-")
        a = ASTERISK_DAYS.index(first)
        b = ASTERISK_DAYS.index(last or first)
        days.add(b)
        while a != b:
            days.add(a)
            a = (a + 1) % 7
    weekday = (when.weekday() + 1) % 7  # Asterisk counts from Sunday
    return weekday in days and when.hour * 60 + when.minute in minutes


@pytest.mark.parametrize(
    "hours",
    [
        None,
        OFFICE,
        LATE_FRIDAY,
        NIGHTLY,
        {"consultation": [{"days": "sun", "start": "22:00", "end": "06:00"}]},
        {"consultation": [{"days": "mon,wed,fri", "start": "00:00", "end": "24:00"}]},
        {"consultation": [{"days": "fri-mon", "start": "20:00", "end": "00:00"}]},
    ],
)
def test_asterisk_conditions_open_exactly_the_minutes_the_schedule_does(
    hours: dict[str, Any] | None,
) -> None:
    s = schedule(hours)
    conditions = s.asterisk_time_conditions(Service.consultation)
    monday = local("2026-03-02 00:00")  # an ordinary week: no holiday, no adjusted day
    for n in range(7 * 24 * 60):
        when = monday + timedelta(minutes=n)
        expected = s.is_open(Service.consultation, when)
        assert any(asterisk_matches(c, when) for c in conditions) == expected, when


# -- the clock routing asks --------------------------------------------------------------


def test_clocks_give_utc_instants() -> None:
    saturday_night = local("2026-10-03 22:00")
    assert FixedClock(saturday_night).now() == saturday_night
    assert FixedClock(saturday_night).now().tzinfo is UTC
    offset = OffsetClock(saturday_night)
    first, second = offset.now(), offset.now()
    assert saturday_night <= first <= second < saturday_night + timedelta(seconds=5)
    assert abs(SystemClock().now() - datetime.now(UTC)) < timedelta(seconds=5)
    with pytest.raises(ValueError, match="no time zone"):
        FixedClock(datetime(2026, 10, 3, 22, 0))


def test_hotline_now_starts_an_offset_clock() -> None:
    clock = clock_from_env({"HOTLINE_NOW": "2026-10-03T22:00:00+08:00"})
    assert isinstance(clock, OffsetClock)
    assert clock.start_at == datetime(2026, 10, 3, 14, 0, tzinfo=UTC)
    assert isinstance(clock_from_env({}), SystemClock)
    with pytest.raises(ValueError, match="no UTC offset"):
        clock_from_env({"HOTLINE_NOW": "2026-10-03T22:00:00"})
    with pytest.raises(ValueError, match="not an ISO time"):
        clock_from_env({"HOTLINE_NOW": "saturday night"})
