"""The ingest hot path: validate a batch of messages in one pass, ``COPY`` the good events
into a staging table, deduplicate them against the stored events (``sql.DROP_STORED``),
hand the new ones to matching once (``ledger.matching.accrual``: evaluated, inserted,
tallied, booked), and record every rejected event as a dead letter — all in the caller's
transaction.

The caller commits, then acknowledges the messages: nothing is acknowledged before the
commit that stored it, and a redelivered message only finds its events already stored.
"""

from __future__ import annotations

import io
import logging
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import psycopg
from psycopg.copy import Copy, FileWriter
from psycopg.types.string import BytesBinaryDumper

from ledger.catalog.identifiers import IDENTIFIER_KINDS
from ledger.ingest import sql
from ledger.ingest.decode import Bad, read
from ledger.ingest.encoding import compression, decompress
from ledger.ingest.limits import MAX_TEXT
from ledger.config import get_settings
from ledger.ingest.events import ROW_COLUMNS, SINGLE, Reason, Rejected, event_bytes, parse_body
from ledger.ingest.producer_rules import ProducerRules, detail as producer_detail
from ledger.matching import accrual
from ledger.periods import revenue

log = logging.getLogger(__name__)

IDENTIFIERS = IDENTIFIER_KINDS
COLUMNS = sql.COLUMNS
# Below this many staged events per sampled identity (small messages), the sample would
# cost as much as the taking out of stored events (``sql.DROP_STORED``) it might spare.
_EVENTS_PER_SAMPLE = 16
_TIME, _QUANTITY = ROW_COLUMNS.index("time"), ROW_COLUMNS.index("quantity")


@dataclass(frozen=True)
class Message:
    """A message body as it came off the broker (or out of a dead letter); with a
    ``content_encoding`` that names a compression, still compressed (``plain``)."""

    body: bytes
    content_type: str | None
    routing_key: str | None = None
    content_encoding: str | None = None
    user_id: str | None = None  # the AMQP property: who sent it, checked by RabbitMQ
    # why the compressed body cannot be read (set by ``plain``; it is kept as it came)
    refused: Rejected | None = field(default=None, compare=False)

    @property
    def kept_encoding(self) -> str | None:
        """The compression of the body as it is kept (None: a plain body)."""
        return compression(self.content_encoding)


def plain(message: Message, max_message_bytes: int) -> Message:
    """The message with its body decompressed; as it is when it is not compressed; or, when
    it cannot be decompressed, as it came with the reason (``prepare`` dead-letters it)."""
    if message.refused is not None or compression(message.content_encoding) is None:
        return message
    body = decompress(message.body, message.content_encoding, max_message_bytes)
    if isinstance(body, Rejected):
        return replace(message, refused=body)
    return Message(body, message.content_type, message.routing_key, user_id=message.user_id)


@dataclass
class BatchResult:
    messages: int = 0
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[Rejected, Message]] = field(default_factory=list)
    # Rejected bytes that already have an open dead letter (a redelivery): no second one;
    # they count with the duplicates.
    repeated: int = 0

    @property
    def dead_lettered(self) -> int:
        return len(self.rejected) - self.repeated


class Licensees(dict):
    """Registered licensees' ids by key, with the guards a batch is held to: each
    licensee's ``max_quantity`` (by key, only those that set one) and how far in the future
    an event may be dated."""

    def __init__(self, ids: dict[str, int], ceilings: dict[str, Decimal] | None = None,
                 tolerance: timedelta | None = None) -> None:
        super().__init__(ids)
        self.ceilings = ceilings or {}
        self.tolerance = tolerance

    def latest(self) -> datetime | None:
        """The latest event time accepted now (None: no limit)."""
        return None if self.tolerance is None else datetime.now(UTC) + self.tolerance


def licensee_ids(conn: psycopg.Connection, tolerance: timedelta | None = None) -> Licensees:
    """The licensees and their guards, read once per batch (two small queries, no event's).
    ``tolerance`` defaults to the setting ``ROYALTY_FUTURE_TOLERANCE``."""
    if tolerance is None:
        tolerance = get_settings().future_tolerance
    return Licensees(dict(conn.execute(sql.LICENSEE_IDS).fetchall()),
                     dict(conn.execute(sql.LICENSEE_CEILINGS).fetchall()), tolerance)


def _source_and_id(event: object) -> tuple[str | None, str | None]:
    if isinstance(event, dict):
        source, event_id = event.get("source"), event.get("id")
        # beyond the limit an identity is not one (the raw event still holds it)
        return (source if isinstance(source, str) and len(source) <= MAX_TEXT else None,
                event_id if isinstance(event_id, str) and len(event_id) <= MAX_TEXT else None)
    return None, None


_EVENTS_PER_MESSAGE = 1 << 32  # how ``Prepared.origin`` packs a message and an event index


@dataclass
class Prepared:
    """A batch validated in Python, ready for ``write``: the rows to stage, where each came
    from, and the partial result (received, in-batch duplicates, rejected events).

    The rows are kept as the binary COPY data they are sent as, formatted as each is made
    (``Stage``), not as Python objects: a batch's tens of thousands of tuples and strings
    would stay alive until its commit (several batches are in flight), and making the
    next ones from memory gone cold cost more than formatting them (0.6 to 1.8 µs an
    event). The parsed events are not kept either."""

    staged: bytes  # binary COPY data for ingest_stage, signature to trailer
    count: int  # rows in it, ``seq`` 0 to count - 1
    # By staging seq: index in ``messages`` * _EVENTS_PER_MESSAGE + index of the event in
    # its body (packed in an array: no object per event).
    origin: array
    result: BatchResult
    kinds: frozenset[str] | None = None  # the identifier kinds the rows use (None: any)
    messages: list[Message] = field(default_factory=list)
    # (source, id) of each message's first staged event: stored already, the batch is a
    # redelivery or a resend (none: the batch is deduplicated event by event)
    firsts: tuple[list[str], list[str]] = field(default_factory=lambda: ([], []))
    # revenue reports (routing key ``revenue.<licensee>``) and their message, parsed
    revenue: list[tuple[Message, list]] = field(default_factory=list)

    def event_at(self, seq: int) -> tuple[object, Message]:
        """The event staged as ``seq`` and its message, parsed again (a rare need)."""
        at, index = divmod(self.origin[seq], _EVENTS_PER_MESSAGE)
        message = self.messages[at]
        return _parsed(message, index), message


class Stage:
    """Rows for the staging table (``seq`` first, as ``sql.COPY_STAGE`` lists them),
    formatted as binary COPY data as they are written, with no database access: the
    connection only lends its adapters."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._buffer = io.BytesIO()
        cursor = conn.cursor()
        # bytea's binary dumper by oid is psycopg's DB-API ``Binary`` one, in Python; the
        # content hash is plain bytes, which the C dumper formats (0.2 µs an event less)
        cursor.adapters.register_dumper(bytes, BytesBinaryDumper)
        self._copy = Copy(cursor, binary=True, writer=FileWriter(self._buffer))
        self._copy.set_types(sql.STAGE_TYPES)
        self.write_row = self._copy.write_row

    def data(self) -> bytes:
        """Everything written, with the format's signature and trailer; the end."""
        self._copy.finish(None)
        return self._buffer.getvalue()


def staged(conn: psycopg.Connection, rows: Iterable[tuple]) -> bytes:
    """``rows`` as the binary COPY data ``write`` stages."""
    stage = Stage(conn)
    for row in rows:
        stage.write_row(row)
    return stage.data()


def _parsed(message: Message, index: int) -> object:
    """Event ``index`` of a message that was read before, as parsed JSON (to keep it in a
    dead letter: a rare need, so the parsed events are not kept after the batch is read)."""
    return _parse(message)[index]


@lru_cache(maxsize=2)  # one message's many duplicates parse it once
def _parse(message: Message) -> list:
    events = parse_body(message.body, message.content_type)
    assert not isinstance(events, Rejected), "the message was read before"
    return events


def ingest(conn: psycopg.Connection, messages: list[Message], *, licensees: dict[str, int],
           max_message_bytes: int, replayed: int = 0, count_received: bool = True,
           record_rejects: bool = True, producers: ProducerRules | None = None) -> BatchResult:
    """Store a batch in the open transaction of ``conn``; the caller commits."""
    return write(conn, prepare(conn, messages, licensees=licensees,
                               max_message_bytes=max_message_bytes, producers=producers),
                 replayed=replayed, count_received=count_received, record_rejects=record_rejects)


def prepare(conn: psycopg.Connection, messages: list[Message], *, licensees: dict[str, int],
            max_message_bytes: int, producers: ProducerRules | None = None) -> Prepared:
    """Parse and validate every event of a batch, in one pass, with no database access
    (``conn`` lends its adapters to format the rows; nothing is sent).

    Should a message trip a fault of ours (an exception where a rejection was due), that
    message alone is set aside as an ``unprocessable`` dead letter, body kept, and the rest
    of the batch goes through. With ``producers``, an event for a licensee its message's
    ``user_id`` may not report for is dead-lettered ``unauthorized_producer``."""
    try:
        return _prepare(conn, messages, licensees, max_message_bytes, producers)
    except Exception:
        log.exception("validating a batch of %d messages failed; looking for the culprit",
                      len(messages))
    good, bad = [], []
    for message in messages:
        try:
            _prepare(conn, [message], licensees, max_message_bytes, producers)
        except Exception as exc:  # noqa: BLE001 - kept as a dead letter with its reason
            bad.append((Rejected(Reason.UNPROCESSABLE, f"{type(exc).__name__}: {exc}",
                                 raw=message.body), message))
        else:
            good.append(message)
    prepared = _prepare(conn, good, licensees, max_message_bytes, producers)
    prepared.result.messages += len(bad)
    prepared.result.received += len(bad)
    prepared.result.rejected.extend(bad)
    return prepared


def _prepare(conn: psycopg.Connection, messages: list[Message], licensees: dict[str, int],
             max_message_bytes: int, producers: ProducerRules | None = None) -> Prepared:
    result = BatchResult(messages=len(messages))
    stage = Stage(conn)
    write_row = stage.write_row
    seq = 0
    origin = array("q")  # by staging seq: message and event index
    first_hash: dict[tuple[str, str], bytes] = {}
    kinds: set[str] = set()
    firsts: tuple[list[str], list[str]] = ([], [])

    def reject(reason: str, detail: str, message: Message, *, event: object = None,
               field_: str | None = None, raw: bytes | None = None) -> None:
        source, event_id = _source_and_id(event)
        if raw is None:  # one event of the message: kept alone, replayable in single mode
            try:
                raw = event_bytes(event)
                message = Message(raw, SINGLE, message.routing_key, user_id=message.user_id)
            except TypeError:  # too deep to write alone: the whole message is kept
                raw = message.body
        result.rejected.append((Rejected(reason, detail, field_, source, event_id, raw), message))

    # The guards (issue 19): no event dated beyond now + the tolerance, none above its
    # licensee's ceiling. Both are checked here, in the one pass: no query per event.
    latest = licensees.latest() if isinstance(licensees, Licensees) else None
    ceilings = licensees.ceilings if isinstance(licensees, Licensees) else {}
    messages = [plain(message, max_message_bytes) for message in messages]
    revenue_reports: list[tuple[Message, list]] = []
    for at, message in enumerate(messages):
        if message.refused is not None:  # it did not decompress
            result.received += 1
            reject(message.refused.reason, message.refused.detail, message, raw=message.body)
            continue
        if len(message.body) > max_message_bytes:
            result.received += 1
            reject(Reason.TOO_LARGE, f"message of {len(message.body)} bytes exceeds the "
                                     f"{max_message_bytes}-byte limit", message, raw=message.body)
            continue
        if is_revenue(message):  # contract §9: stored by ``write`` (it needs the database)
            parsed = parse_body(message.body, message.content_type)
            if isinstance(parsed, Rejected):
                result.received += 1
                reject(parsed.reason, parsed.detail, message, raw=message.body)
            else:
                result.received += len(parsed)
                allowed = None if producers is None else producers.allowed_for(message.user_id)
                if allowed is not None:  # contract §11 binds revenue reports too
                    parsed = [event for event in parsed
                              if not _refused_revenue(event, allowed, producers, message,
                                                      reject)]
                revenue_reports.append((message, parsed))
            continue
        events = read(message.body, message.content_type)
        if isinstance(events, Rejected):
            result.received += 1
            reject(events.reason, events.detail, message, raw=message.body)
            continue
        rows, keys = events.rows, events.licensees
        result.received += len(rows)
        kinds |= events.kinds  # of events not staged too: a kind more only costs a probe
        first = True
        # once per message: the licensees its user may report for (None: any)
        allowed = None if producers is None else producers.allowed_for(message.user_id)
        for index, row in enumerate(rows):
            if type(row) is Bad:
                reject(Reason.INVALID_EVENT, row.error.detail, message, event=row.event,
                       field_=row.error.field)
                continue
            if latest is not None and row[_TIME] > latest:
                reject(Reason.INVALID_EVENT, f"time {row[_TIME].isoformat()} is in the future "
                       f"(later than now plus the tolerance, "
                       f"{latest.isoformat(timespec='seconds')})",
                       message, event=_parsed(message, index), field_="time")
                continue
            licensee_id = licensees.get(keys[index])
            if licensee_id is None:
                reject(Reason.UNKNOWN_LICENSEE, f"licensee {keys[index]!r} is not registered",
                       message, event=_parsed(message, index), field_="data.licensee")
                continue
            if ceilings and (ceiling := ceilings.get(keys[index])) is not None \
                    and Decimal(row[_QUANTITY]) > ceiling:  # its decimal text
                reject(Reason.QUANTITY_OUT_OF_RANGE, f"data.quantity {row[_QUANTITY]} exceeds the "
                       f"max_quantity {ceiling} of licensee {keys[index]!r}", message,
                       event=_parsed(message, index), field_="data.quantity")
                continue
            if allowed is not None and not producers.may_report(allowed, keys[index]):
                reject(Reason.UNAUTHORIZED_PRODUCER, producer_detail(message.user_id, keys[index]),
                       message, event=_parsed(message, index), field_="user_id")
                continue
            identity = row[:2]  # source and id
            earlier = first_hash.get(identity)
            if earlier is not None:
                if earlier == row[2]:  # the content hash
                    result.duplicates += 1
                else:
                    reject(Reason.CONFLICTING_DUPLICATE, "same source and id as an earlier event "
                           "with other content; the first one stands", message,
                           event=_parsed(message, index))
                continue
            first_hash[identity] = row[2]
            if first:
                first = False
                firsts[0].append(row[0])
                firsts[1].append(row[1])
            write_row((seq, licensee_id) + row)
            seq += 1
            origin.append(at * _EVENTS_PER_MESSAGE + index)

    return Prepared(stage.data(), seq, origin, result, frozenset(kinds), messages, firsts,
                    revenue_reports)


def _reject_later(result: BatchResult, reason: str, detail: str, event: object,
                  message: Message, field_: str | None = None) -> None:
    source, event_id = _source_and_id(event)
    raw = event_bytes(event)
    result.rejected.append((Rejected(reason, detail, field_, source, event_id, raw),
                            Message(raw, SINGLE, message.routing_key, user_id=message.user_id)))


def copy_stage(conn: psycopg.Connection, rows: list[tuple]) -> None:
    """COPY rows (``seq`` first) into the staging table."""
    with conn.cursor().copy(sql.COPY_STAGE) as copy:
        copy.set_types(sql.STAGE_TYPES)
        for row in rows:
            copy.write_row(row)


def copy_staged(conn: psycopg.Connection, data: bytes) -> None:
    """COPY a prepared batch's rows (``Prepared.staged``) into the staging table."""
    with conn.cursor().copy(sql.COPY_STAGE) as copy:
        copy.write(memoryview(data))


def _fresh(conn: psycopg.Connection, prepared: Prepared) -> bool:
    """Whether the batch looks new: its messages are large enough for a sample to be cheap,
    and none of their first events is stored."""
    sources, event_ids = prepared.firsts
    if not sources or prepared.count < _EVENTS_PER_SAMPLE * len(sources):
        return False
    return not conn.execute(sql.ANY_STORED, (sources, event_ids)).fetchone()[0]


def _store_new(conn: psycopg.Connection, kinds: frozenset[str] | None,
               fresh: bool = False) -> tuple[accrual.Accrued, list[int]]:
    """Take the stored events out of the stage and hand matching the rest to evaluate,
    insert and book; return what it did and the staging seqs of the conflicting duplicates.
    A concurrent writer may have stored some of the same events since (a redelivery racing
    its first delivery): the unique identity refuses them, they are taken out and matching
    is called again, as long as each refusal has something to take out (else it is a real
    fault, not to be retried). A ``fresh`` batch is first handed over whole."""
    conflicts: list[int] = []

    def take_out() -> int:
        stored = conn.execute(sql.DROP_STORED).fetchall()
        conflicts.extend(seq for seq, conflicting in stored if conflicting)
        return len(stored)

    if not fresh:
        take_out()
    while True:
        try:
            return accrual.accrue(conn, sql.COLUMNS, sql.STAGED_EVENTS, kinds), conflicts
        except psycopg.errors.UniqueViolation:
            if not take_out():
                raise


def write(conn: psycopg.Connection, prepared: Prepared, *, replayed: int = 0,
          count_received: bool = True, record_rejects: bool = True) -> BatchResult:
    """The SQL half: COPY, evaluate, insert, book, dead letters, batch log. No commit.
    ``prepared`` is left as it is, so a rolled-back write can run again."""
    result = replace(prepared.result, rejected=list(prepared.result.rejected))
    if prepared.count:
        conn.execute(sql.CREATE_STAGE)
        # Emptied by the commit; an earlier batch of the same transaction (replayed dead
        # letters) left its rows.
        if conn.execute(sql.STAGE_LEFT_OVER).fetchone()[0]:
            conn.execute(sql.EMPTY_STAGE)
        copy_staged(conn, prepared.staged)
        accrued, conflicts = _store_new(conn, prepared.kinds, _fresh(conn, prepared))
        result.accepted = accrued.inserted
        if accrued.inserted < prepared.count:
            result.duplicates += prepared.count - accrued.inserted - len(conflicts)
            for seq in conflicts:
                event, message = prepared.event_at(seq)
                _reject_later(result, Reason.CONFLICTING_DUPLICATE, "same source and id as "
                              "an earlier event with other content; the first one stands",
                              event, message)

    if prepared.revenue:
        _store_revenue(conn, prepared.revenue, result)

    if result.rejected and record_rejects:
        with conn.cursor() as cur:
            cur.executemany(sql.INSERT_DEAD_LETTERS, [
                (r.reason, r.field, r.detail, r.source, r.event_id, m.content_type,
                 m.kept_encoding, m.routing_key, r.raw, m.user_id) for r, m in result.rejected])
            result.repeated = len(result.rejected) - cur.rowcount
            result.duplicates += result.repeated
    conn.execute(sql.INSERT_BATCH, (result.messages, result.received if count_received else 0,
                                    result.accepted, result.duplicates,
                                    result.dead_lettered if record_rejects else 0, replayed))
    return result


def _refused_revenue(event: object, allowed: frozenset[str], producers: ProducerRules,
                     message: Message, reject) -> bool:  # noqa: ANN001 - _prepare's reject
    """Dead-letter a revenue report for a licensee the message's user may not report for;
    a report without a readable licensee is left to validation, which names the field."""
    data = event.get("data") if isinstance(event, dict) else None
    licensee = data.get("licensee") if isinstance(data, dict) else None
    if not isinstance(licensee, str) or producers.may_report(allowed, licensee):
        return False
    reject(Reason.UNAUTHORIZED_PRODUCER, producer_detail(message.user_id, licensee), message,
           event=event, field_="user_id")
    return True


def is_revenue(message: Message) -> bool:
    return (message.routing_key or "").startswith(revenue.ROUTING_PREFIX)


def _store_revenue(conn: psycopg.Connection, messages: list[tuple[Message, list]],
                   result: BatchResult) -> None:
    """Validate and store the revenue reports of a batch (``ledger.periods.revenue``); each
    bad one is dead-lettered with its reason, like a usage event."""
    events = [(event, message) for message, parsed in messages for event in parsed]
    reports, stored = revenue.check(conn, [e for e, _ in events], licensee_ids(conn))
    revenue.store(conn, reports, stored)
    result.accepted += stored.accepted
    result.duplicates += stored.duplicates
    for index, problem in stored.problems:
        event, message = events[index]
        _reject_later(result, problem.reason, problem.detail, event, message,
                      field_=problem.field)


def set_aside(conn: psycopg.Connection, message: Message, detail: str) -> None:
    """Dead-letter a whole message that could not be processed at all (a fault of ours)."""
    kept = conn.execute(sql.INSERT_DEAD_LETTERS, (
        Reason.UNPROCESSABLE, None, detail, None, None, message.content_type,
        message.kept_encoding, message.routing_key, message.body, message.user_id)).rowcount
    conn.execute(sql.INSERT_BATCH, (1, 1, 0, 1 - kept, kept, 0))
