"""The ``royalty`` command."""
