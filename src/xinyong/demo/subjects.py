"""Who the records are about: subjects drawn by weight, so that records cluster as they do in life.

Adverse records follow a log-normal propensity per subject (most have none or one, a few have
many); honours and good ratings go mostly to subjects with little adverse activity; some record
types fall mostly on some industries (environmental violations on chemical plants, wage arrears on
builders).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from itertools import accumulate

from xinyong.demo.population import Org, Person
from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import Polarity, RecordType

# Record types that fall mostly on some industries; others get 5 % of the usual rate.
AFFINITY: dict[str, frozenset[str]] = {
    "env.violation": frozenset({"chemical", "manufacturing", "electronics", "food"}),
    "safety.violation": frozenset({"construction", "chemical", "manufacturing", "logistics"}),
    "labour.wage_arrears": frozenset({"construction", "manufacturing", "garment", "catering"}),
    "customs.violation": frozenset({"trade", "electronics", "garment", "manufacturing", "chemical"}),
    "customs.aeo_certified": frozenset({"trade", "electronics", "garment", "manufacturing"}),
    "quality.recall": frozenset({"manufacturing", "food", "electronics", "garment"}),
}


class Pool:
    """Subjects drawn with probability proportional to a weight, and only once they exist."""

    def __init__(self, members: list[int], weights: list[float], starts: list[int]) -> None:
        self.members = members
        self.cum = list(accumulate(weights))
        self.starts = starts  # indexed by subject index, not by member position
        self.total = self.cum[-1] if self.cum else 0.0

    def draw(self, rng: random.Random, day: int) -> int:
        """A subject index whose first possible decision day is on or before `day`."""
        for _ in range(30):
            pos = min(bisect_right(self.cum, rng.random() * self.total), len(self.members) - 1)
            idx = self.members[pos]
            if self.starts[idx] <= day:
                return idx
        offset = rng.randrange(len(self.members))
        for k in range(len(self.members)):
            idx = self.members[(offset + k) % len(self.members)]
            if self.starts[idx] <= day:
                return idx
        return self.members[offset]


def activity_weights(rng: random.Random, n: int, sigma: float, cap: float) -> list[float]:
    """Log-normal propensity to attract adverse records: most subjects none or one, a few many."""
    return [min(math.exp(rng.gauss(0.0, sigma)), cap) for _ in range(n)]


class Subjects:
    """The population, with weighted pools per subject kind, polarity and industry."""

    def __init__(self, rng: random.Random, persons: list[Person], orgs: list[Org], catalog: Catalog) -> None:
        self.persons, self.orgs = persons, orgs
        self.industries = sorted({o.industry for o in orgs})
        p_w = activity_weights(rng, len(persons), 1.5, 40.0)
        o_w = activity_weights(rng, len(orgs), 2.6, 200.0)
        p_start = [p.start for p in persons]
        o_start = [o.start for o in orgs]
        everyone = list(range(len(persons)))
        self.person_pools = (Pool(everyone, p_w, p_start), Pool(everyone, [favourable_weight(w) for w in p_w], p_start))
        self.org_pools: dict[str, tuple[Pool, Pool]] = {}
        for ind in self.industries:
            members = [i for i, o in enumerate(orgs) if o.industry == ind]
            self.org_pools[ind] = (
                Pool(members, [o_w[i] for i in members], o_start),
                Pool(members, [favourable_weight(o_w[i]) for i in members], o_start),
            )
        self.industry_weights: dict[tuple[str, bool], list[float]] = {}
        for tid in catalog.record_types:
            aff = AFFINITY.get(tid)
            for fav in (False, True):
                self.industry_weights[tid, fav] = [
                    self.org_pools[ind][fav].total * (1.0 if aff is None or ind in aff else 0.05)
                    for ind in self.industries
                ]

    def draw(self, rng: random.Random, rt: RecordType, kind: str, day: int) -> Person | Org:
        fav = rt.polarity == Polarity.FAVOURABLE
        if kind == "person":
            return self.persons[self.person_pools[fav].draw(rng, day)]
        ind = rng.choices(self.industries, weights=self.industry_weights[rt.id, fav])[0]
        return self.orgs[self.org_pools[ind][fav].draw(rng, day)]


def favourable_weight(adverse_weight: float) -> float:
    # Honours and good ratings go mostly to subjects with little adverse activity.
    return 1.0 if adverse_weight < 0.3 else 0.02
