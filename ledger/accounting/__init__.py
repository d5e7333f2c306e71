"""The double-entry ledger: accounts, journal entries, postings, and booking usage."""
