"""The demo: a generated catalog and usage, run through the whole flow."""
