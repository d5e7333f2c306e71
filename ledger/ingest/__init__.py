"""Usage ingestion: CloudEvents in, a durable deduplicated inbox out (contract §2, §3).

An event is received and decoded by the consumers (``consumer``, ``sql_queue``), validated
by ``decode`` and ``events``, staged and deduplicated by ``store`` (``sql.DROP_STORED``),
and handed to ``ledger.matching.accrual`` once per batch: matching decides its outcome and
amounts."""
