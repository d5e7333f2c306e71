"""A three-month scenario for statements: the ledger books in three calendar months.

Month 1 books a first batch; month 2 changes w2's split from 2026-10-01 (re-splitting an
event booked in month 1), registers w4 (back-pay of an unmatched use), adds lumen's EUR
license (back-pay of unlicensed uses) and books a second batch; month 3 books a third batch,
reprices w3 with a works-scope license (reversing uses booked in months 1 and 2) and pays
alice. Months are made by moving everything recorded so far back in time, as if it had
happened then (the append-only triggers are bypassed for that, in tests only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import orjson
import pytest

from ledger.matching import reevaluation
from ledger.ingest import store
from ledger.ingest.events import BATCH
from ledger.payouts import entries
from tests.builders import (
    creator, expected_net, expected_parts, jsonl, license, licensee, sha, work,
)
from tests.ingest_helpers import usage

D = Decimal
NANO = D("0.000000001")

W2_BEFORE = {"alice": "0.7", "bob": "0.3"}
W2_AFTER = {"alice": "0.5", "bob": "0.5"}
W3 = {"alice": "0.5", "dave": "0.5"}
W4 = {"alice": "0.6", "bob": "0.4"}
ACME = ("0.0023", "0.15")        # acme's catalog license: price, fee (USD)
ACME_W3 = ("0.01", "0.2")        # acme's works-scope license for w3, added in month 3
LUMEN = ("0.001", "0.3")         # lumen's EUR license, added in month 2
PAID = D("0.01")                 # paid to alice (USD) in month 3
EXCESS = D("0.005")              # held for her too, then released (a failed part)


@dataclass(frozen=True)
class Use:
    id: str
    licensee: str
    work: str
    model: str
    purpose: str
    time: str
    quantity: str


BATCHES = [
    [Use("e1", "acme", "w1", "video-2", "ai-train", "2026-09-05T10:00:00Z", "10"),
     Use("e2", "acme", "w2", "video-2", "ai-train", "2026-09-10T10:00:00Z", "3"),
     Use("e3", "acme", "w2", "video-2", "ai-train", "2026-10-03T10:00:00Z", "7"),
     Use("e4", "acme", "w3", "text-1", "ai-train", "2026-10-04T10:00:00Z", "5"),
     Use("e5", "lumen", "w1", "search-x", "ai-input", "2026-10-06T10:00:00Z", "4"),
     Use("e6", "acme", "w4", "video-2", "ai-train", "2026-09-20T10:00:00Z", "2"),
     Use("e7", "acme", "w1", "text-1", "ai-train", "2026-10-20T10:00:00Z", "1")],
    [Use("e8", "acme", "w2", "video-2", "ai-train", "2026-10-25T10:00:00Z", "2"),
     Use("e9", "lumen", "w1", "search-x", "ai-input", "2026-11-02T10:00:00Z", "6"),
     Use("e10", "acme", "w3", "video-2", "ai-train", "2026-11-03T10:00:00Z", "3")],
    [Use("e11", "acme", "w1", "video-2", "ai-train", "2026-11-15T10:00:00Z", "5"),
     Use("e12", "acme", "w9", "video-2", "ai-train", "2026-11-16T10:00:00Z", "1"),   # unmatched
     Use("e13", "acme", "w1", "text-1", "ai-input", "2026-11-17T10:00:00Z", "1")],  # unlicensed
]


net = expected_net
parts = expected_parts


def part(who: str, quantity: str, terms: tuple[str, str], shares: dict[str, str]) -> D:
    return parts(net(quantity, *terms), shares).get(who, D(0))


@dataclass
class Scenario:
    cli: object
    months: list[str]          # the three booking months, oldest first


def _ingest(ledger, uses: list[Use]) -> None:
    events = [usage(u.id, licensee=u.licensee, item={"sha256": sha(u.work)}, purpose=u.purpose,
                    model=u.model, time_=u.time, quantity=u.quantity) for u in uses]
    with ledger.connect() as conn:
        result = store.ingest(conn, [store.Message(orjson.dumps(events), BATCH)],
                              licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.commit()
    assert result.accepted == len(uses)


def _drain(ledger) -> None:
    with ledger.connect() as conn:
        reevaluation.drain(conn)


def travel_back(ledger, days: int) -> None:
    """Everything recorded so far happened ``days`` earlier (bookings, receipts,
    re-evaluations and split versions alike, so their order is kept)."""
    with ledger.connect() as conn:
        conn.execute("SET session_replication_role = replica")  # bypass append-only triggers
        shift = f"interval '{int(days)} days'"
        conn.execute(f"UPDATE journal_entry SET created_at = created_at - {shift}")
        conn.execute(f"UPDATE usage_event SET received_at = received_at - {shift}")
        conn.execute(f"UPDATE event_reevaluation SET at = at - {shift}")
        conn.execute(f"UPDATE split_version SET created_at = created_at - {shift}")
        conn.commit()


def pay(ledger, who: str, amount: D, currency: str = "USD") -> None:
    """Payout entries as the payouts work books them: a hold of more than ``amount``, then
    a release of the excess (a failed part), so the net paid is ``amount``."""
    with ledger.connect() as conn:
        creator_id = conn.execute("SELECT id FROM creator WHERE key = %s", (who,)).fetchone()[0]
        entries.record(conn, "payout_hold", [entries.Move(1, creator_id, currency, amount + EXCESS)])
        entries.record(conn, "payout_release", [entries.Move(1, creator_id, currency, EXCESS)])
        conn.commit()


def build(cli, ledger, between: Callable[[], None] = lambda: None) -> Scenario:
    """The scenario; ``between`` is called after each of its five bookings or re-evaluations."""
    assert cli("import", "creators", "-", input=jsonl([
        creator("alice"), creator("bob"), creator("dave")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme"),
                                                        licensee("lumen")])).code == 0
    assert cli("import", "works", "-", input=jsonl([
        work("w1", {"alice": "1"}), work("w2", W2_BEFORE), work("w3", W3)])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([
        license("acme-cat", "acme", price=ACME[0], fee=ACME[1])])).code == 0
    _drain(ledger)
    _ingest(ledger, BATCHES[0])
    travel_back(ledger, 31)
    between()  # one batch booked

    assert cli("import", "works", "-", input=jsonl([
        work("w2", W2_AFTER, effective_from="2026-10-01T00:00:00Z"), work("w4", W4)])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([
        license("lumen-eur", "lumen", purposes=["ai-input"], price=LUMEN[0], fee=LUMEN[1],
                currency="EUR")])).code == 0
    _drain(ledger)
    between()  # re-split, back-pay of an unmatched and of unlicensed uses
    _ingest(ledger, BATCHES[1])
    travel_back(ledger, 31)
    between()  # a second batch

    _ingest(ledger, BATCHES[2])
    between()  # a third
    assert cli("import", "licenses", "-", input=jsonl([
        license("acme-w3", "acme", scope={"works": ["w3"]}, price=ACME_W3[0],
                fee=ACME_W3[1])])).code == 0
    _drain(ledger)
    between()  # w3 repriced, reversing uses booked in months 1 and 2
    pay(ledger, "alice", PAID)
    with ledger.connect() as conn:
        months = [r[0] for r in conn.execute(
            "SELECT DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM') FROM journal_entry "
            "ORDER BY 1")]
    assert len(months) == 3, months
    return Scenario(cli, months)


@pytest.fixture
def scenario(cli, ledger) -> Scenario:
    return build(cli, ledger)
