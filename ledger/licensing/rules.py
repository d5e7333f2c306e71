"""Which license covers a use (contract §4). Plain functions over plain values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import IntEnum

from ledger.licensing import purposes


class Specificity(IntEnum):
    """Higher wins: a works scope beats a creators scope beats the catalog."""

    CATALOG = 1
    CREATORS = 2
    WORKS = 3


@dataclass(frozen=True)
class Scope:
    kind: Specificity
    works: frozenset[str] = frozenset()
    creators: frozenset[str] = frozenset()

    def covers(self, work: str, creators: Iterable[str]) -> bool:
        if self.kind is Specificity.WORKS:
            return work in self.works
        if self.kind is Specificity.CREATORS:
            creators = set(creators)
            return bool(creators) and creators <= self.creators
        return True

    def overlaps(self, other: Scope) -> bool:
        """Whether some work could be covered by both scopes (of the same kind)."""
        if self.kind is not other.kind:
            return False
        if self.kind is Specificity.WORKS:
            return bool(self.works & other.works)
        if self.kind is Specificity.CREATORS:
            return bool(self.creators & other.creators)
        return True


@dataclass(frozen=True)
class License:
    key: str
    licensee: str
    scope: Scope
    purposes: frozenset[str]
    valid_from: datetime
    valid_until: datetime | None
    currency: str
    rate_unit: str
    price: Decimal
    platform_fee: Decimal = Decimal(0)
    rate_type: str = "per_unit"
    # The whole rate as canonical JSON (contract §9's pool, share, period, minimum), so a
    # re-import that changes any of it is a change.
    rate: str = ""
    retired: datetime | None = None  # covers no use from then on

    @property
    def priced_per_unit(self) -> bool:
        """Whether an accrued use is priced as it arrives; pool and revenue-share uses
        await their period's allocation."""
        return self.rate_type == "per_unit"

    @property
    def ends(self) -> datetime | None:
        """When it stops covering uses (exclusive): its end or its retirement, the earlier."""
        ends = [t for t in (self.valid_until, self.retired) if t is not None]
        return min(ends) if ends else None

    def in_force(self, at: datetime) -> bool:
        ends = self.ends
        return self.valid_from <= at and (ends is None or at < ends)

    def overlaps_in_time(self, other: License) -> bool:
        mine, theirs = self.ends, other.ends
        starts_before_other_ends = theirs is None or self.valid_from < theirs
        ends_after_other_starts = mine is None or other.valid_from < mine
        return starts_before_other_ends and ends_after_other_starts


def conflicts(a: License, b: License) -> bool:
    """Two licenses of one licensee and specificity that could both cover one use."""
    return (
        a.key != b.key
        and a.licensee == b.licensee
        and a.scope.overlaps(b.scope)
        and bool(purposes.expand(a.purposes) & purposes.expand(b.purposes))
        and a.overlaps_in_time(b)
    )


def is_opted_out(purpose: str, work_opt_out: Iterable[str],
                 creator_opt_outs: Iterable[Iterable[str]]) -> bool:
    """A use is opted out when the work, or any creator in its split, opted out of it."""
    return purposes.covers(work_opt_out, purpose) or any(
        purposes.covers(tokens, purpose) for tokens in creator_opt_outs
    )


def resolve(licenses: Iterable[License], *, licensee: str, work: str, creators: Iterable[str],
            purpose: str, at: datetime, opted_out: bool) -> License | None:
    """The license in force for this use: the most specific covering scope wins, and a
    catalog license never covers an opted-out use. Ties (refused at import) go to the
    smallest key so the answer is always the same."""
    creators = tuple(creators)
    candidates = [
        lic for lic in licenses
        if lic.licensee == licensee
        and lic.in_force(at)
        and purposes.covers(lic.purposes, purpose)
        and lic.scope.covers(work, creators)
        and not (opted_out and lic.scope.kind is Specificity.CATALOG)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda lic: (-lic.scope.kind, lic.key))


@dataclass(frozen=True)
class SplitVersion:
    effective_from: datetime | None  # None: from the beginning of time
    shares: Mapping[str, Decimal] = field(default_factory=dict)


def split_in_force(versions: Sequence[SplitVersion], at: datetime) -> SplitVersion | None:
    """The version with the latest ``effective_from`` not after ``at``."""
    in_force = [v for v in versions if v.effective_from is None or v.effective_from <= at]
    if not in_force:
        return None
    return max(in_force, key=lambda v: (v.effective_from is not None, v.effective_from or at))
