"""Content fingerprints (contract §8): what a file is, as near-duplicate matching compares it.

Pure: no database, broker or settings; the catalog, ingest and matching call it.

- ``codes``: the normal form of a ``pdq`` or ``iscc`` value, every reason one is bad, its
  units, and the Hamming distance the matching uses;
- ``files``: a file's ``sha256``, ``pdq`` (images) and ``iscc`` (images, texts), or why
  it has none.
"""
