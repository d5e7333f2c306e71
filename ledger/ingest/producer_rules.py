"""Who may report usage for a licensee (contract §11), checked once per message.

RabbitMQ refuses a message whose ``user_id`` is not its connection's user, so the
``user_id`` a message arrives with names who sent it. A licensee that lists ``producers``
takes events only from them; with ``ROYALTY_REQUIRE_PRODUCER`` every licensee does (one
that lists none takes none), and a message without ``user_id`` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from ledger.ingest import sql


@dataclass
class ProducerRules:
    """The licensees' producers, read with the licensees for a batch."""

    producers: dict[str, frozenset[str]]  # licensee key -> users; only those listing some
    require: bool = False
    _allowed: dict[str | None, frozenset[str]] = field(default_factory=dict, repr=False)

    @property
    def active(self) -> bool:
        return self.require or bool(self.producers)

    def allowed_for(self, user_id: str | None) -> frozenset[str] | None:
        """For a message from ``user_id``: the licensees it may report for (None when the
        check is off, or the message may report for every licensee)."""
        if not self.active:
            return None
        allowed = self._allowed.get(user_id)
        if allowed is None:
            allowed = self._allowed[user_id] = frozenset(
                key for key, users in self.producers.items() if user_id in users)
        return allowed

    def may_report(self, allowed: frozenset[str], licensee: str) -> bool:
        """Whether a message whose ``allowed_for`` gave ``allowed`` may report for ``licensee``."""
        return licensee in allowed or (not self.require and licensee not in self.producers)


def detail(user_id: str | None, licensee: str) -> str:
    if user_id is None:
        return f"the message has no user_id; licensee {licensee!r} takes events only from " \
               "its producers"
    return f"user_id {user_id!r} is not a producer of licensee {licensee!r}"


def load(conn: psycopg.Connection, require: bool) -> ProducerRules:
    return ProducerRules({key: frozenset(users) for key, users in
                          conn.execute(sql.LICENSEE_PRODUCERS).fetchall()}, require)
