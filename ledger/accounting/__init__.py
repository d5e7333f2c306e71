"""The double-entry ledger: accounts, journal entries, postings, the creators' parts of net
amounts, the money rules (``money``, the reference model) and the folding of booked
events into statement lines. It imports nothing from ingest, matching or reports: they
book through it."""
