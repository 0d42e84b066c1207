"""python -m stripe_standin --port 12111 --webhook-url URL --webhook-secret whsec_…"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_standin",
        description="Local Stripe stand-in on 127.0.0.1 (test keys only).")
    parser.add_argument("--port", type=int, default=12111, help="port (default 12111; 0 = any)")
    parser.add_argument("--webhook-url", default=None, help="where signed events are POSTed")
    parser.add_argument("--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET"),
                        help="signing secret (default: $STRIPE_WEBHOOK_SECRET)")
    args = parser.parse_args(argv)
    standin = serve(port=args.port, webhook_url=args.webhook_url,
                    webhook_secret=args.webhook_secret)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(standin.url, flush=True)
    print(f"Stripe stand-in on {standin.url}; webhooks to {args.webhook_url or '(none)'}"
          f"{'' if args.webhook_secret or not args.webhook_url else ' UNSIGNED (no secret)'}",
          file=sys.stderr, flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
