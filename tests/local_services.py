"""Print shell exports that point the test suite at local services when they run.

``make test`` evaluates this: with ``ROYALTY_DATABASE_URL`` / ``ROYALTY_BROKER_URL`` already
set it changes nothing; otherwise a PostgreSQL on 127.0.0.1:5432 and a RabbitMQ on
127.0.0.1:5672 are used when they answer, and the embedded defaults when they do not.
``EMBEDDED=1`` forces the embedded defaults.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def main() -> None:
    exports = {}
    embedded = os.environ.get("EMBEDDED") == "1"
    if not embedded and not os.environ.get("ROYALTY_DATABASE_URL") and answers(5432):
        exports["ROYALTY_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:5432/postgres"
    if not embedded and not os.environ.get("ROYALTY_BROKER_URL") and answers(5672):
        exports["ROYALTY_BROKER_URL"] = "amqp://guest:guest@127.0.0.1:5672//"
    if embedded:
        print("unset ROYALTY_DATABASE_URL ROYALTY_BROKER_URL;")
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)};")
    database = os.environ.get("ROYALTY_DATABASE_URL") or exports.get("ROYALTY_DATABASE_URL")
    broker = os.environ.get("ROYALTY_BROKER_URL") or exports.get("ROYALTY_BROKER_URL")
    if embedded:
        database = broker = None
    print(f"tests use database: {database or 'embedded PostgreSQL'}; "
          f"broker: {broker or 'embedded (kombu SQL transport on PostgreSQL)'}", file=sys.stderr)


if __name__ == "__main__":
    main()
