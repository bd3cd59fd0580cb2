"""``python -m sandbox``: serve the sandbox API (and optionally its DNS) until SIGTERM or Ctrl-C.

The flags come from the fields of ``SandboxConfig`` (sandbox._settings): ``--flags-markdown`` prints
the README's flag table from the same definitions.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import waitress
from pydantic import ValidationError

from sandbox._app import create_app, sandbox_state
from sandbox._config import SandboxConfig
from sandbox._dns import DnsServer
from sandbox._settings import add_arguments, arguments_to_fields, describe_validation_error, flags_markdown

__all__ = ["build_parser", "config_from_args", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per ``SandboxConfig`` field that has one, plus ``--flags-markdown``."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve a local Anyreach Email Domains API (see sandbox/README.md).",
    )
    add_arguments(parser, SandboxConfig)
    parser.add_argument(
        "--flags-markdown",
        action="store_true",
        help="print the flag table of sandbox/README.md (generated from these flags) and exit",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Turn parsed arguments into a ``SandboxConfig`` (raises ValueError naming a bad flag)."""
    fields = arguments_to_fields(args)
    fields.pop("flags_markdown", None)
    try:
        return SandboxConfig(**fields)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc, SandboxConfig, flags=True)) from exc


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
    if args.flags_markdown:
        print(flags_markdown(SandboxConfig), end="")
        return 0
    try:
        config = config_from_args(args)
        app = create_app(config)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    state = sandbox_state(app)
    server = waitress.create_server(
        app, host=config.host, port=config.port, threads=config.threads, ident="anyreach-sandbox"
    )
    host = f"[{config.host}]" if ":" in config.host else config.host
    line = f"sandbox listening on http://{host}:{server.effective_port}"  # type: ignore[union-attr]
    dns_server: DnsServer | None = None
    if config.dns_port is not None:
        dns_server = DnsServer(state, config.host, config.dns_port, truncate_udp=state.dns_truncate_udp)
        try:
            dns_server.start()
        except OSError as exc:  # e.g. the port is taken: reported like a bad flag
            server.close()
            parser.error(f"--dns-port: {exc}")
        state.attach_dns(config.host, dns_server.port)
        line += f", DNS on {host}:{dns_server.port} (udp+tcp)"
    stop = _StopOnSignal()
    try:
        # Installed inside the try: a signal may arrive at any point from here on.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(line, flush=True)
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop.armed = False
        if dns_server is not None:
            state.detach_dns()
            dns_server.stop()
        server.close()
    print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
