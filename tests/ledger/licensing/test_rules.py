"""License resolution, opt-outs and split versions (contract §4), as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ledger.licensing import purposes
from ledger.licensing.rules import (
    License, Scope, Specificity, SplitVersion, conflicts, is_opted_out, resolve, split_in_force,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2027, 1, 1, tzinfo=UTC)


def lic(key: str, scope: Scope, purposes_: tuple[str, ...] = ("ai-train",), *,
        licensee: str = "acme", start: datetime = T0, end: datetime | None = T1) -> License:
    return License(key=key, licensee=licensee, scope=scope, purposes=frozenset(purposes_),
                   valid_from=start, valid_until=end, currency="USD", rate_unit="uses",
                   price=Decimal("0.01"), platform_fee=Decimal("0.1"))


CATALOG = Scope(Specificity.CATALOG)


def creators(*keys: str) -> Scope:
    return Scope(Specificity.CREATORS, creators=frozenset(keys))


def works(*keys: str) -> Scope:
    return Scope(Specificity.WORKS, works=frozenset(keys))


def use(licenses: list[License], *, work: str = "w1", who: tuple[str, ...] = ("alice",),
        purpose: str = "ai-train", at: datetime = T0 + timedelta(days=1),
        opted_out: bool = False) -> str | None:
    found = resolve(licenses, licensee="acme", work=work, creators=who, purpose=purpose, at=at,
                    opted_out=opted_out)
    return found.key if found else None


def test_most_specific_scope_wins() -> None:
    all_three = [lic("cat", CATALOG), lic("cre", creators("alice")), lic("wrk", works("w1"))]
    assert use(all_three) == "wrk"
    assert use(all_three, work="w2") == "cre"
    assert use(all_three, work="w3", who=("bob",)) == "cat"


def test_creators_scope_needs_every_creator_of_the_split() -> None:
    licenses = [lic("cre", creators("alice"))]
    assert use(licenses, who=("alice",)) == "cre"
    assert use(licenses, who=("alice", "bob")) is None
    assert use([lic("cre2", creators("alice", "bob"))], who=("alice", "bob")) == "cre2"


def test_validity_is_half_open() -> None:
    licenses = [lic("cat", CATALOG)]
    assert use(licenses, at=T0) == "cat"
    assert use(licenses, at=T1 - timedelta(microseconds=1)) == "cat"
    assert use(licenses, at=T1) is None
    assert use(licenses, at=T0 - timedelta(seconds=1)) is None
    assert use([lic("open", CATALOG, end=None)], at=T1 + timedelta(days=9000)) == "open"


def test_catalog_never_covers_an_opted_out_use_but_a_specific_license_does() -> None:
    assert use([lic("cat", CATALOG)], opted_out=True) is None
    assert use([lic("cat", CATALOG), lic("wrk", works("w1"))], opted_out=True) == "wrk"
    assert use([lic("cre", creators("alice"))], opted_out=True) == "cre"


def test_umbrella_purposes() -> None:
    assert use([lic("all-ai", CATALOG, ("ai-all",))], purpose="ai-input") == "all-ai"
    assert use([lic("all-ai", CATALOG, ("ai-all",))], purpose="search") is None
    assert use([lic("all", CATALOG, ("all",))], purpose="search") == "all"
    assert use([lic("train", CATALOG)], purpose="ai-input") is None


def test_other_licensee_does_not_cover() -> None:
    assert use([lic("cat", CATALOG, licensee="other")]) is None


def test_opt_outs() -> None:
    assert is_opted_out("ai-train", ["ai-train"], [])
    assert is_opted_out("ai-train", [], [[], ["ai-all"]])
    assert is_opted_out("search", [], [["all"]])
    assert not is_opted_out("search", ["ai-all"], [["ai-train"]])


def test_conflicts_need_same_kind_scope_purpose_and_time() -> None:
    assert conflicts(lic("a", CATALOG), lic("b", CATALOG, ("ai-all",)))
    assert not conflicts(lic("a", CATALOG), lic("b", CATALOG, ("search",)))
    assert not conflicts(lic("a", CATALOG), lic("b", CATALOG, start=T1, end=None))
    assert conflicts(lic("a", CATALOG, end=None), lic("b", CATALOG, start=T1 + timedelta(1)))
    assert not conflicts(lic("a", CATALOG), lic("b", CATALOG, licensee="other"))
    assert not conflicts(lic("a", works("w1")), lic("b", works("w2")))
    assert conflicts(lic("a", works("w1", "w2")), lic("b", works("w2")))
    assert conflicts(lic("a", creators("alice")), lic("b", creators("alice", "bob")))
    assert not conflicts(lic("a", creators("alice")), lic("b", CATALOG))


def test_split_in_force() -> None:
    first = SplitVersion(None, {"alice": Decimal(1)})
    second = SplitVersion(T1, {"alice": Decimal("0.5"), "bob": Decimal("0.5")})
    assert split_in_force([first, second], T0) is first
    assert split_in_force([second, first], T1) is second
    assert split_in_force([second], T0) is None


# --- properties -------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1),
                       timezones=st.just(UTC))
scope_kinds = st.sampled_from([Specificity.CATALOG, Specificity.CREATORS, Specificity.WORKS])
people = st.frozensets(st.sampled_from(["alice", "bob", "carol"]), min_size=1)
pieces = st.frozensets(st.sampled_from(["w1", "w2", "w3"]), min_size=1)


@st.composite
def licenses(draw: st.DrawFn) -> License:
    kind = draw(scope_kinds)
    scope = Scope(kind, works=draw(pieces) if kind is Specificity.WORKS else frozenset(),
                  creators=draw(people) if kind is Specificity.CREATORS else frozenset())
    start = draw(moments)
    end = draw(st.none() | moments.filter(lambda m: m > start))
    return lic(draw(st.text("xyz", min_size=3, max_size=3)), scope,
               tuple(draw(st.sets(st.sampled_from(purposes.ALL_TOKENS), min_size=1))),
               start=start, end=end)


@given(st.lists(licenses(), max_size=6, unique_by=lambda x: x.key), st.sampled_from(["w1", "w2", "w3"]), people,
       st.sampled_from(purposes.USAGE_TOKENS), moments, st.booleans())
def test_resolution_picks_a_covering_license_of_the_highest_specificity(
        all_licenses, work, who, purpose, at, opted_out) -> None:
    found = resolve(all_licenses, licensee="acme", work=work, creators=who, purpose=purpose,
                    at=at, opted_out=opted_out)
    covering = [x for x in all_licenses if x.in_force(at) and purposes.covers(x.purposes, purpose)
                and x.scope.covers(work, who)
                and not (opted_out and x.scope.kind is Specificity.CATALOG)]
    if not covering:
        assert found is None
        return
    assert found in covering
    assert found.scope.kind == max(x.scope.kind for x in covering)
    # Deterministic: the order licenses come in does not change the answer.
    assert resolve(list(reversed(all_licenses)), licensee="acme", work=work, creators=who,
                   purpose=purpose, at=at, opted_out=opted_out) == found


@given(licenses(), licenses())
def test_conflict_is_symmetric(a: License, b: License) -> None:
    assert conflicts(a, b) == conflicts(b, a)
