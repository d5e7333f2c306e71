"""The outcome of one use (contract §6), as a pure function. The set-based SQL in
``ledger.matching.sql`` implements the same rules; tests hold the two to each other."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ledger.licensing.rules import License, SplitVersion, is_opted_out, resolve, split_in_force
from ledger.accounting.money import Priced, price_event

# Which identifier decides when an item's identifiers point at different works.
MATCH_PRIORITY = ("sha256", "c2pa", "isrc", "iswc", "isbn", "doi", "url")

ACCRUED, UNMATCHED, UNLICENSED, OPTED_OUT, UNPRICED = OUTCOMES = (
    "accrued", "unmatched", "unlicensed", "opted_out", "unpriced")


@dataclass(frozen=True)
class Work:
    key: str
    versions: tuple[SplitVersion, ...]
    opt_out: tuple[str, ...] = ()
    retired: datetime | None = None  # matches no use from then on

    def matches_at(self, at: datetime) -> bool:
        return self.retired is None or at < self.retired


@dataclass(frozen=True)
class Evaluation:
    outcome: str
    work: str | None = None
    split: SplitVersion | None = None
    license: License | None = None
    priced: Priced | None = None


def match(identifiers: Mapping[str, str], index: Mapping[tuple[str, str], str],
          works: Mapping[str, Work] | None = None, at: datetime | None = None) -> str | None:
    """The work an item's identifiers name, by identifier priority; with ``works`` and
    ``at``, a work retired by then is passed over (the next identifier is tried)."""
    for kind in MATCH_PRIORITY:
        value = identifiers.get(kind)
        if value is not None and (kind, value) in index:
            key = index[(kind, value)]
            if works is None or at is None or works[key].matches_at(at):
                return key
    return None


def evaluate(*, identifiers: Mapping[str, str], licensee: str, purpose: str, at: datetime,
             quantity: Decimal, unit: str, index: Mapping[tuple[str, str], str],
             works: Mapping[str, Work], creator_opt_outs: Mapping[str, Iterable[str]],
             licenses: Iterable[License]) -> Evaluation:
    work_key = match(identifiers, index, works, at)
    if work_key is None:
        return Evaluation(UNMATCHED)
    work = works[work_key]
    split = split_in_force(work.versions, at)
    assert split is not None, "a work's first split version applies from the beginning"
    creators = tuple(split.shares)
    opted_out = is_opted_out(purpose, work.opt_out,
                             (creator_opt_outs.get(c, ()) for c in creators))
    found = resolve(licenses, licensee=licensee, work=work_key, creators=creators,
                    purpose=purpose, at=at, opted_out=opted_out)
    if found is None:
        return Evaluation(OPTED_OUT if opted_out else UNLICENSED, work_key, split)
    if found.rate_unit != unit:
        return Evaluation(UNPRICED, work_key, split, found)
    if not found.priced_per_unit:
        return Evaluation(ACCRUED, work_key, split, found)  # awaits its period's allocation
    return Evaluation(ACCRUED, work_key, split, found,
                      price_event(quantity, found.price, found.platform_fee))
