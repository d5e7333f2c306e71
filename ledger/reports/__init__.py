"""Reports: read-only queries returning JSON-ready rows (contract §7 shapes). Nothing here
writes; the statements are in ``sql``."""
