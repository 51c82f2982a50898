"""Quality scoring of a recorded call by listening (SPEC R8, the seed's 客服热线电话抽检
评分标准): four items of 20 points, each judged in the seed's bands. Pure.

The fifth part of the 100 points, the connection (接通情况), is not listened to: it is
the spot check's dial rule (`ivr.domain.spotcheck`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

ITEM_MAX = 20
MAX_REMARKS = 2000


class Item(StrEnum):
    service_phrases = "service_phrases"  # 服务用语
    attitude = "attitude"  # 热线服务态度
    responsibility = "responsibility"  # 首问负责制
    professionalism = "professionalism"  # 专业性


@dataclass(frozen=True, slots=True)
class Band:
    low: int
    high: int
    meaning: str  # the seed's words for it


# The seed's bands, best first.
BANDS: dict[Item, tuple[Band, ...]] = {
    Item.service_phrases: (
        Band(16, 20, "在称呼、应答、等候、挂机及服务等各环节使用礼貌用语；"
                     "对无法答复或做不到的要求表示歉意"),
        Band(7, 15, "只有简单问候语、结束语等礼貌用语"),
        Band(0, 6, "无礼貌用语及问候语"),
    ),
    Item.attitude: (
        Band(16, 20, "亲切诚恳、声音甜美、言语温和；服务主动"),
        Band(11, 15, "声音平缓或表现急促，缺乏亲切交流之感"),
        Band(7, 10, "声音生硬；服务意识不佳；但能够完成热线咨询业务"),
        Band(5, 6, "表现不耐烦，一问一答；令客户产生不愉快的感觉"),
        Band(0, 4, "态度恶劣（与客户争执，粗暴挂断电话等）"),
    ),
    Item.responsibility: (
        Band(16, 20, "不推托；能立即回复或转其它部门回复，"
                     "不能立即回复的作好记录并告之回复的时间和方法"),
        Band(7, 15, "感觉推托"),
        Band(0, 6, "推托"),
    ),
    Item.professionalism: (
        Band(16, 20, "熟悉燃气基础知识、相关政策法规、公司管理制度及流程，并能准确表达"),
        Band(11, 15, "熟悉业务流程及相关知识，能完整回答每一个问题；"
                     "但整体感觉不熟练，表达不够清楚"),
        Band(6, 10, "基本熟悉业务流程及相关业务知识，问题回答基本完整，但有部分不准确"),
        Band(0, 5, "不熟悉业务流程及相关知识，回答问题错误较多"),
    ),
}


class QualityInvalid(ValueError):
    """A score that cannot be given; the message says why."""


@dataclass(frozen=True, slots=True)
class Scores:
    service_phrases: int
    attitude: int
    responsibility: int
    professionalism: int

    def __post_init__(self) -> None:
        for item in Item:
            points = getattr(self, item.value)
            if isinstance(points, bool) or not isinstance(points, int):
                raise QualityInvalid(f"{item.value}: a whole number of points, not {points!r}")
            if not 0 <= points <= ITEM_MAX:
                raise QualityInvalid(f"{item.value}: {points} is not within 0-{ITEM_MAX}")

    @property
    def total(self) -> int:
        """Out of 80: the listened part of the 100 points."""
        return sum(getattr(self, item.value) for item in Item)

    def of(self, item: Item) -> int:
        return int(getattr(self, item.value))


def band_of(item: Item, points: int) -> Band:
    for band in BANDS[item]:
        if band.low <= points <= band.high:
            return band
    raise QualityInvalid(f"{item.value}: {points} is not within 0-{ITEM_MAX}")


@dataclass(frozen=True, slots=True)
class ScoredCall:
    linkedid: str
    agent: str
    call_at: datetime
    scores: Scores


@dataclass(frozen=True, slots=True)
class AgentAverages:
    agent: str
    calls: int
    items: dict[str, float]  # item -> average points
    total: float  # average of the totals (out of 80)


def averages_by_agent(scored: Iterable[ScoredCall]) -> list[AgentAverages]:
    """Average points per agent and per item (a month's scored calls, say); a call scored
    twice counts with its latest score only when the caller passes it so."""
    by_agent: dict[str, list[Scores]] = defaultdict(list)
    for call in scored:
        by_agent[call.agent].append(call.scores)
    result = []
    for agent, scores in sorted(by_agent.items()):
        n = len(scores)
        items = {item.value: round(sum(s.of(item) for s in scores) / n, 2) for item in Item}
        result.append(AgentAverages(agent, n, items, round(sum(s.total for s in scores) / n, 2)))
    return result
