"""royalty-ledger: an event-driven licensing and royalty ledger for content used to build AI."""

__version__ = "0.1.0"
