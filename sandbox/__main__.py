"""``python -m sandbox``: serve the sandbox API with waitress until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import waitress

from sandbox._app import create_app
from sandbox._config import DEFAULT_ORGANIZATION, DEFAULT_TOKEN, SCOPE_MANAGE, Credential, SandboxConfig

__all__ = ["build_parser", "config_from_args", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command line, every flag documented."""
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve a local Anyreach Email Domains API (see sandbox/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default=defaults.host, help="interface to listen on")
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="port to listen on; 0 picks a free one"
    )
    parser.add_argument(
        "--token",
        nargs=3,
        action="append",
        default=[],
        metavar=("TOKEN", "ORG", "SCOPES"),
        help=(
            "accept another bearer token for organization ORG with comma-separated SCOPES "
            "(email_domains:read, email_domains:manage); repeatable. "
            f"The credential {DEFAULT_TOKEN} / {DEFAULT_ORGANIZATION} / {SCOPE_MANAGE} always exists"
        ),
    )
    parser.add_argument(
        "--propagation-delay",
        type=float,
        default=defaults.propagation_delay,
        metavar="SECONDS",
        help="how long a record must be published, during a verification attempt, to turn verified",
    )
    parser.add_argument(
        "--verify-window",
        type=float,
        default=defaults.verify_window,
        metavar="SECONDS",
        help="how long a verification attempt lasts; records still unverified at its end fail",
    )
    parser.add_argument(
        "--auto-publish",
        action="store_true",
        help="publish every record of a domain in the sandbox DNS right after registration",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="RPS",
        help="requests per second across the server (token bucket, 429 with Retry-After); off by default",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=defaults.error_rate,
        metavar="FRACTION",
        help="fraction (0..1) of public requests answered with a random 500/502/503 and no side effect",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=defaults.latency_ms,
        metavar="MS",
        help="delay added to every request",
    )
    parser.add_argument(
        "--drop-register-responses",
        type=int,
        default=defaults.drop_register_responses,
        metavar="N",
        help="commit the next N registrations, then cut the connection instead of answering",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="FILE",
        help="load domains and DNS from FILE at start and rewrite it atomically after every change",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed ids and injected errors for repeatable runs"
    )
    parser.add_argument("--region", default=defaults.region, help="region named in the DNS records")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="waitress worker threads")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Turn parsed arguments into a ``SandboxConfig`` (raises ValueError on bad values)."""
    return SandboxConfig(
        host=args.host,
        port=args.port,
        credentials=tuple(Credential.parse(*triple) for triple in args.token),
        propagation_delay=args.propagation_delay,
        verify_window=args.verify_window,
        auto_publish=args.auto_publish,
        rate_limit_rps=args.rate_limit,
        error_rate=args.error_rate,
        latency_ms=args.latency_ms,
        drop_register_responses=args.drop_register_responses,
        state_file=args.state,
        seed=args.seed,
        region=args.region,
        threads=args.threads,
    )


class _StopOnSignal:
    """Signal handler: the first SIGTERM/SIGINT ends the serve loop, later ones are ignored."""

    def __init__(self) -> None:
        self.armed = True

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.armed:
            self.armed = False
            # waitress's run loop treats SystemExit as "shut down cleanly".
            raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, serve until SIGTERM/SIGINT, return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        app = create_app(config)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = waitress.create_server(
        app, host=config.host, port=config.port, threads=config.threads, ident="anyreach-sandbox"
    )
    host = f"[{config.host}]" if ":" in config.host else config.host
    stop = _StopOnSignal()
    try:
        # Installed inside the try: a signal may arrive at any point from here on.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(f"sandbox listening on http://{host}:{server.effective_port}", flush=True)  # type: ignore[union-attr]
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop.armed = False
        server.close()
    print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
