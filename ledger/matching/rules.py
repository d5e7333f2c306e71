"""The outcome of one use (contract §6), as a pure function. The set-based SQL in
``ledger.matching.sql`` implements the same rules; tests hold the two to each other."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ledger.licensing.rules import License, SplitVersion, is_opted_out, resolve, split_in_force
from ledger.accounting.money import Priced, price_event
from ledger.fingerprints.codes import PDQ_MIN_QUALITY, hamming, units_of

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


# --- Similarity (contract §8) -----------------------------------------------------------

KIND_ORDER = ("pdq", "iscc")  # ties at one distance: pdq before iscc
# The index's bands, in bits from the first (migration 0022): a PDQ hash's 256 bits in 14
# bands, an ISCC Content-Code's 64 in 4. Two fingerprints within (bands - 1) bits of each
# other always share one.
PDQ_BANDS = (19,) * 4 + (18,) * 10
ISCC_BANDS = (16,) * 4
PDQ_KEY_BASE = 2 ** 23  # band i of a PDQ hash is keyed PDQ_KEY_BASE + i * 2^19 + its value
PDQ_KEY_SPAN = 2 ** 19  # the keys of one band position (fingerprint_band's part of them)


@dataclass(frozen=True)
class Match:
    work: str
    method: str
    distance: int | None


def shares_band(a: str, b: str, bands: tuple[int, ...]) -> bool:
    """Whether the band index finds ``b`` for ``a`` (hex of the same length): one band of
    ``bands`` equal. Always so within 13 bits (PDQ) or 3 bits (ISCC Content-Code); often
    beyond."""
    differ, end = int(a, 16) ^ int(b, 16), 4 * len(a)
    for width in bands:
        end -= width
        if not differ >> end & ((1 << width) - 1):
            return True
    return False


def match_fingerprints(item: Mapping[str, object],
                       registered: Iterable[tuple[str, str, str]], *, match_pdq: int,
                       match_iscc: int) -> Match | None:
    """The work an item's fingerprints name when no exact identifier does: the ISCC
    Instance-Code exactly, else the nearest registered fingerprint within its kind's
    threshold among those the band index finds; ties by distance, kind, work key.
    ``registered``: (kind, value, work key). The reference model of ``sql.evaluation``."""
    registered = list(registered)
    pdq, iscc = item.get("pdq"), item.get("iscc")
    units = units_of(iscc) if isinstance(iscc, str) else None
    if units is not None and units.instance is not None:
        same = sorted(work for kind, value, work in registered
                      if kind == "iscc" and units_of(value).instance == units.instance)
        if same:
            return Match(same[0], "exact", None)
    found: list[tuple[int, int, str, str]] = []
    quality = item.get("pdq_quality")
    if isinstance(pdq, str) and (quality is None or quality >= PDQ_MIN_QUALITY):
        for kind, value, work in registered:
            if kind == "pdq" and shares_band(value, pdq, PDQ_BANDS):
                distance = hamming(value, pdq)
                if distance <= match_pdq:
                    found.append((distance, 0, work, "pdq"))
    if units is not None and units.content is not None:
        for kind, value, work in registered:
            other = units_of(value) if kind == "iscc" else None
            if (other is not None and other.content is not None
                    and other.content_type == units.content_type
                    and shares_band(other.content, units.content, ISCC_BANDS)):
                distance = hamming(other.content, units.content)
                if distance <= match_iscc:
                    found.append((distance, 1, work, "iscc"))
    if not found:
        return None
    distance, _, work, method = min(found)
    return Match(work, method, distance)
