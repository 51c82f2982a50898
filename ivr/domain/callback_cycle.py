"""The callback cycle of work orders (回访, SPEC R7), once, for every reader. Pure.

The seed (燃气热线服务管理规范, 回访管理):

- complaints, paid repairs and paid modifications: 100% called back;
- emergency orders (抢险): closed by the next morning, called back "that afternoon":
  due by the end of the afternoon of the day the order closed (closed in the
  afternoon or later: the next day's afternoon);
- other orders: called back no later than 5 days after the work was done (完工);
- **callback rate** (回访率) = callbacks made in the month / work orders closed in the
  month (月度回访量 / 结单量): a callback is *made* in the month when an order's
  callback task had its first attempt then (a failed attempt is a callback made, its
  time and reason recorded); an order closed and never called lowers the rate.
- each callback surveys satisfaction: satisfied / basically satisfied / dissatisfied,
  with a note; the month's dissatisfied callbacks are the 回访不满意情况表.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

ALWAYS = ("complaint", "emergency")  # services whose orders are always called back


class Satisfaction(StrEnum):
    satisfied = "satisfied"  # 满意
    basically_satisfied = "basically_satisfied"  # 基本满意
    dissatisfied = "dissatisfied"  # 不满意

    @property
    def label_zh(self) -> str:
        return {"satisfied": "满意", "basically_satisfied": "基本满意",
                "dissatisfied": "不满意"}[self.value]


@dataclass(frozen=True, slots=True)
class CallbackRules:
    """`[callbacks]` as the rules read it (defaults: the seed)."""

    afternoon_starts: time = time(12, 0)
    emergency_due_by: time = time(18, 0)  # the end of "that afternoon"
    others_within: timedelta = timedelta(days=5)
    always: tuple[str, ...] = ALWAYS
    call_back_others: bool = True  # other orders too (the department's targets)

    def needs_callback(self, service: str, paid: bool) -> bool:
        return paid or service in self.always or self.call_back_others

    def due(
        self, service: str, paid: bool, closed_at: datetime, done_at: datetime | None,
        zone: ZoneInfo,
    ) -> datetime | None:
        """When the callback of an order closed at `closed_at` is due; None: none."""
        if not self.needs_callback(service, paid):
            return None
        if service == "emergency":
            local = closed_at.astimezone(zone)
            day = local.date()
            if local.time() >= self.afternoon_starts:
                day += timedelta(days=1)
            return datetime.combine(day, self.emergency_due_by, tzinfo=zone)
        return (done_at or closed_at) + self.others_within


def callback_rate(made: int, closed: int) -> float | None:
    """回访率 = callbacks made in the month / work orders closed in the month; None
    when no order closed. It may pass 1 when orders closed earlier are called back."""
    return made / closed if closed else None
