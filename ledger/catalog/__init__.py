"""The catalog: creators, their works, the identifiers that find a work, and splits."""
