"""What this package adds to the SDK's dynamic-provider host (``python -m pulumi.dynamic``) it runs in.

1. **Errors without tracebacks.** The host answers the engine with ``traceback.format_exc()`` for every
   exception a provider method raises, so a user reads three or four chained Python tracebacks (80-90
   lines) with our message buried inside. For errors of ours (:class:`provider.api.errors.AnyreachError`: we
   raised them on purpose, their message says what is wrong and what to do) the host is given a
   ``traceback`` whose ``format_exc`` returns the message alone. Any other exception is a bug and keeps its
   full traceback.
2. **Stop when the engine is gone.** If the ``pulumi`` process that started the host dies (SIGKILL, a lost
   CI runner), the host would go on serving nobody: a verification waiting in it would keep polling the
   API for as long as its timeout. A watchdog thread checks that the engine process is still the one that
   started the host and ends the host process when it is not.

Both are installed by :func:`install`, which every provider's ``configure()`` calls; it does nothing
outside the host (tests that call providers directly, a program that imports this package). The test
``tests/provider/test_provider_host_grpc.py`` drives the SDK's own host and fails if an SDK upgrade
changes what this relies on (the host module's ``traceback`` global and its ``__main__`` module name).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any

from provider.api.errors import AnyreachError
from provider.host.program_run import engine_process

__all__ = ["HOST_MODULE", "EngineWatchdog", "in_provider_host", "install", "render_error"]

HOST_MODULE = "pulumi.dynamic.__main__"
"""The module name of the SDK's dynamic-provider host when it runs as ``python -m pulumi.dynamic``."""

WATCHDOG_INTERVAL_SECONDS = 0.5
"""How often the watchdog checks the engine process."""

logger = logging.getLogger(__name__)
_installed = False
_install_lock = threading.Lock()


def _host_module() -> ModuleType | None:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return main if spec is not None and spec.name == HOST_MODULE else None


def in_provider_host() -> bool:
    """Whether this process is the SDK's dynamic-provider host."""
    return _host_module() is not None


def render_error(error: BaseException | None) -> str | None:
    """The text the engine should show for ``error``: our message alone for errors of ours, else None
    (keep the traceback)."""
    if isinstance(error, AnyreachError):
        return f"{error}\n"
    return None


class _TracebackForHost:
    """Stands in for the ``traceback`` module inside the host module only: ``format_exc`` renders errors
    of ours without a traceback; everything else is the real module."""

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    def format_exc(self, limit: int | None = None, chain: bool = True) -> str:
        rendered = render_error(sys.exc_info()[1])
        return rendered if rendered is not None else traceback.format_exc(limit=limit, chain=chain)


class EngineWatchdog:
    """Calls ``on_gone`` once when the engine process that started this one is gone.

    Args:
        engine: ``(pid, start time)`` of the engine, as
            :func:`provider.host.program_run.engine_process` gives it.
        is_alive: how to tell that the engine still runs (injectable for tests).
        on_gone: what to do then (default: end this process).
        interval: seconds between two checks.
    """

    def __init__(
        self,
        engine: tuple[int, str],
        *,
        is_alive: Callable[[tuple[int, str]], bool] | None = None,
        on_gone: Callable[[], None] | None = None,
        interval: float = WATCHDOG_INTERVAL_SECONDS,
    ) -> None:
        self.engine = engine
        self._is_alive = is_alive or _engine_alive
        self._on_gone = on_gone or _end_this_process
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anyreach-engine-watchdog", daemon=True)

    def start(self) -> EngineWatchdog:
        """Start checking in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop checking (tests)."""
        self._stopped.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            if not self._is_alive(self.engine):
                self._on_gone()
                return


def _engine_alive(engine: tuple[int, str]) -> bool:
    """Whether process ``engine`` still runs: same pid, same start time (a reused pid does not count)."""
    try:
        with open(f"/proc/{engine[0]}/stat") as stat:
            text = stat.read()
    except OSError:
        return False
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0] != "Z" and fields[19] == engine[1]


def _end_this_process() -> None:
    try:
        sys.stderr.write(
            "anyreach: the pulumi process that started this provider host is gone; stopping, so that no "
            "verification goes on calling the API for nobody\n"
        )
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr was a pipe to the engine, which is gone: say nothing, but stop all the same
    # The gRPC server threads never return on their own; no state of ours needs flushing.
    os._exit(1)


def install() -> None:
    """Install the error rendering and the engine watchdog, once, if this is the provider host."""
    global _installed
    host = _host_module()
    if host is None:
        return
    with _install_lock:
        if _installed:
            return
        _installed = True
        host.traceback = _TracebackForHost()  # type: ignore[attr-defined]
        engine = engine_process()
        if engine is not None:
            EngineWatchdog(engine).start()
        else:
            logger.debug("no pulumi engine among this host's ancestors; the engine watchdog is off")
