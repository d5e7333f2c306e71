"""``python -m tests.fakes.stripe_api --port 12111``: serve the fake until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading

from . import StripeFake


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.stripe_api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with StripeFake(args.host, args.port, verbose=args.verbose) as fake:
        print(f"stripe fake listening on {fake.url} (any sk_... key works)", flush=True)
        try:
            done.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
