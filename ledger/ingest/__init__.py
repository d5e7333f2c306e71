"""Usage ingestion: CloudEvents in, a durable deduplicated inbox out (contract §2, §3)."""
