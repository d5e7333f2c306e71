"""Every statement of payouts: runs and payouts, creators' Connect accounts, webhook
events, the sandbox provider's transfers and the listings the CLI shows."""

from __future__ import annotations

# --- Runs and payouts -------------------------------------------------------------------

# Each creator's balance per currency, with what a run decides on.
BALANCES = """
SELECT c.id AS creator_id, c.key AS creator, c.stripe_account, c.payouts_enabled,
       c.requirements_due, c.account_updated_at, c.currency AS paid_in, a.currency,
       coalesce(c.payout_threshold, %(threshold)s) AS threshold, -sum(p.amount) AS balance,
       (SELECT min(o.id) FROM payout o WHERE o.creator_id = c.id AND o.currency = a.currency
               AND o.status = 'submitted') AS in_flight
FROM account a JOIN creator c ON c.id = a.owner_id JOIN posting p ON p.account_id = a.id
WHERE a.kind = 'creator_payable'
GROUP BY c.id, a.currency ORDER BY c.key, a.currency
"""
NEXT_RUN_ID = "SELECT nextval(pg_get_serial_sequence('payout_run', 'id'))"
NEXT_PAYOUT_IDS = ("SELECT nextval(pg_get_serial_sequence('payout', 'id')) "
                   "FROM generate_series(1, %s)")
RUN_EXISTS = "SELECT EXISTS (SELECT FROM payout_run WHERE id = %s)"
INSERT_RUN = "INSERT INTO payout_run (id, provider, transfer_group) VALUES (%s, %s, %s)"
FINISH_RUN = "UPDATE payout_run SET finished_at = now() WHERE id = %s"
INSERT_PAYOUTS = """
INSERT INTO payout (id, run_id, creator_id, currency, amount, amount_minor, destination,
                    status, idempotency_key)
SELECT id, %s, creator, currency, amount, minor, destination, 'submitted',
       'royalty-payout-' || id
FROM unnest(%s::bigint[], %s::integer[], %s::text[], %s::numeric[], %s::bigint[],
            %s::text[]) AS d(id, creator, currency, amount, minor, destination)
"""
PAYOUTS = """
SELECT o.*, c.key AS creator, r.transfer_group FROM payout o
JOIN creator c ON c.id = o.creator_id JOIN payout_run r ON r.id = o.run_id
WHERE o.id = ANY(%s) ORDER BY o.id
"""
# Payouts of one run (``%(run)s``), or created in [``%(start)s``, ``%(end)s``), or all.
PAYOUTS_TO_RECONCILE = """
SELECT o.*, c.key AS creator, r.transfer_group FROM payout o
JOIN creator c ON c.id = o.creator_id JOIN payout_run r ON r.id = o.run_id
WHERE (%(run)s::bigint IS NULL OR o.run_id = %(run)s)
  AND (%(start)s::timestamptz IS NULL OR o.created_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR o.created_at < %(end)s)
ORDER BY o.id
"""
IN_FLIGHT = "SELECT id FROM payout WHERE status = 'submitted' ORDER BY id"
LOCK_PAYOUT = "SELECT * FROM payout WHERE id = %s FOR UPDATE"
SETTLE_PAID = """
UPDATE payout o SET status = 'paid', transfer_id = t.transfer, failure = NULL,
       updated_at = now()
FROM unnest(%s::bigint[], %s::text[]) AS t(id, transfer)
WHERE o.id = t.id AND o.status = 'submitted'
RETURNING o.id, o.creator_id, o.currency, o.amount
"""
SETTLE_FAILED = """
UPDATE payout o SET status = 'failed', failure = t.reason, updated_at = now()
FROM unnest(%s::bigint[], %s::text[]) AS t(id, reason)
WHERE o.id = t.id AND o.status = 'submitted'
RETURNING o.id, o.creator_id, o.currency, o.amount
"""
NOTE_UNCLEAR = "UPDATE payout SET failure = %s, updated_at = now() WHERE id = %s"
MARK_PAID = """
UPDATE payout SET status = 'paid', transfer_id = %s, failure = NULL, updated_at = now()
WHERE id = %s AND status = 'submitted'
"""
MARK_REVERSED = """
UPDATE payout SET reversed_minor = %s, updated_at = now(),
       status = CASE WHEN %s >= amount_minor THEN 'reversed' ELSE status END
WHERE id = %s
"""
LIST_PAYOUTS = """
SELECT o.id AS payout, o.run_id AS run, c.key AS creator, o.currency, o.amount,
       o.status, o.transfer_id AS transfer, o.created_at AS created, o.failure
FROM payout o JOIN creator c ON c.id = o.creator_id
WHERE %(run)s::bigint IS NULL OR o.run_id = %(run)s ORDER BY o.id
"""

# --- Ledger moves of payouts ------------------------------------------------------------

# Moves between two accounts per payout: ``%(debit)s`` and ``%(credit)s`` name account
# kinds; "creator_payable" belongs to the move's creator.
MOVE_POSTINGS = """
INSERT INTO posting (entry_id, account_id, amount)
SELECT %(entry)s, ledger_account(kind, owner, currency), sum(amount)
FROM (
    SELECT %(debit)s AS kind, CASE WHEN %(debit)s = 'creator_payable' THEN creator ELSE 0 END
           AS owner, currency, amount
    FROM unnest(%(creators)s::integer[], %(currencies)s::text[], %(amounts)s::numeric[])
         AS m(creator, currency, amount)
    UNION ALL
    SELECT %(credit)s, CASE WHEN %(credit)s = 'creator_payable' THEN creator ELSE 0 END,
           currency, -amount
    FROM unnest(%(creators)s::integer[], %(currencies)s::text[], %(amounts)s::numeric[])
         AS m(creator, currency, amount)
) AS moves
GROUP BY kind, owner, currency
"""

# --- Connect accounts -------------------------------------------------------------------

CREATOR_ACCOUNT = "SELECT id, email, stripe_account FROM creator WHERE key = %s"
SET_ACCOUNT = """
UPDATE creator SET stripe_account = %s, payouts_enabled = false, requirements_due = '{}',
       account_updated_at = NULL
WHERE id = %s
"""
APPLY_ACCOUNT_STATE = """
UPDATE creator SET payouts_enabled = %s, requirements_due = %s, account_updated_at = now()
WHERE stripe_account = %s
"""
# The named creators' accounts (every creator when ``%(all)s``).
CREATOR_ACCOUNTS = """
SELECT key, stripe_account FROM creator WHERE %(all)s OR key = ANY(%(keys)s) ORDER BY key
"""
ACCOUNT_STATES = "SELECT key, payouts_enabled, requirements_due FROM creator WHERE key = ANY(%s)"
OPEN_SANDBOX_ACCOUNTS = """
UPDATE creator SET stripe_account = %s || key WHERE stripe_account IS NULL
"""

# --- Webhooks ---------------------------------------------------------------------------

RECORD_WEBHOOK_EVENT = """
INSERT INTO webhook_event (id, type, payload) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING
"""

# --- The sandbox provider ---------------------------------------------------------------

INSERT_SANDBOX_TRANSFER = """
INSERT INTO sandbox_transfer (id, idempotency_key, amount, currency, destination,
                              transfer_group, metadata)
VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING
"""
# By id (``%(id)s``), or by group and creation time (each NULL: any).
SANDBOX_TRANSFERS = """
SELECT id, amount, currency, destination, transfer_group, metadata FROM sandbox_transfer
WHERE (%(id)s::text IS NULL OR id = %(id)s)
  AND (%(group)s::text IS NULL OR transfer_group = %(group)s)
  AND (%(gte)s::timestamptz IS NULL OR created_at >= %(gte)s)
  AND (%(lt)s::timestamptz IS NULL OR created_at < %(lt)s)
ORDER BY id
"""
