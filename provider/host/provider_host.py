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
3. **Cancel ends the waits.** On the first Ctrl-C or SIGTERM the engine calls every provider's ``Cancel``
   and waits for the operations under way; the SDK's host answers it with nothing, so a waiting ``pulumi
   up`` went on waiting for as long as its timeout. The host's servicer methods were bound into its gRPC
   server before any code of ours ran (replacing the class attribute now changes nothing), so
   :func:`hook_cancel` puts a handler of its own for ``Cancel`` in front of the SDK's in the running
   server: it calls :func:`cancel` (every verification ends at once with a
   :class:`provider.api.errors.CancelledError` saying how far it got; registrations under way finish, so
   their ids reach the state; nothing new starts), then the SDK's own handler.

All three are installed by :func:`install`, which every provider's ``configure()`` calls; it does nothing
outside the host (tests that call providers directly, a program that imports this package). The test
``tests/provider/test_provider_host_grpc.py`` drives the SDK's own host and fails if an SDK upgrade
changes what this relies on (the host module's ``traceback`` global and its ``__main__`` module name; its
gRPC server as a local of the main thread, and grpc's list of generic handlers).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any

import grpc

from provider.api.errors import AnyreachError, CancelledError
from provider.host.program_run import engine_process, engine_running
from provider.verify.poller import cancel_verifications

__all__ = [
    "CANCEL_METHOD",
    "HOST_MODULE",
    "EngineWatchdog",
    "cancel",
    "cancel_requested",
    "hook_cancel",
    "install",
    "raise_if_cancelled",
    "render_error",
]

HOST_MODULE = "pulumi.dynamic.__main__"
"""The module name of the SDK's dynamic-provider host when it runs as ``python -m pulumi.dynamic``."""

WATCHDOG_INTERVAL_SECONDS = 0.5
"""How often the watchdog checks the engine process."""

CANCEL_METHOD = "/pulumirpc.ResourceProvider/Cancel"
"""The gRPC method the engine calls on the first Ctrl-C or SIGTERM."""

logger = logging.getLogger(__name__)
_installed = False
_install_lock = threading.Lock()
_cancelled = threading.Event()


def _host_module() -> ModuleType | None:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return main if spec is not None and spec.name == HOST_MODULE else None


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
        self._is_alive = is_alive or engine_running
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


# -- Cancel ------------------------------------------------------------------------------------------


def cancel() -> None:
    """What the engine's ``Cancel`` does in this process: every verification ends now, and every create
    that starts later fails at once (:func:`raise_if_cancelled`). Operations under way (a registration)
    finish: the engine waits for them, and their results reach the state."""
    _cancelled.set()
    cancel_verifications()


def cancel_requested() -> bool:
    """Whether the engine asked this process to stop."""
    return _cancelled.is_set()


def raise_if_cancelled(doing: str, domain: str) -> None:
    """Refuse to start ``doing`` (e.g. ``registering``) for ``domain`` once the engine asked to stop.

    Raises:
        CancelledError: :func:`cancel` was called; the message says nothing was done and how to resume.
    """
    if _cancelled.is_set():
        raise CancelledError(doing, domain, "before it started: nothing was sent for it")


class _CallDetails(grpc.HandlerCallDetails):
    """The call details grpc hands a generic handler, for looking a method's handler up."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


def hook_cancel(server: grpc.Server, on_cancel: Callable[[], None]) -> bool:
    """Make ``server``, already serving, call ``on_cancel`` on every ``Cancel`` before its own handler.

    A generic handler of ours that knows only ``Cancel`` goes first in the server's list (grpc asks each
    in turn and takes the first answer), so every other method is served exactly as before. Returns
    False, changing nothing, if the server has no ``Cancel`` handler or not the list this relies on.
    """
    state = getattr(server, "_state", None)
    handlers = getattr(state, "generic_handlers", None)
    lock = getattr(state, "lock", None)
    if not isinstance(handlers, list) or lock is None:
        return False
    with lock:
        original = next(
            (
                found
                for handler in handlers
                if (found := handler.service(_CallDetails(CANCEL_METHOD))) is not None
            ),
            None,
        )
        if original is None or original.unary_unary is None:
            return False
        sdk_cancel = original.unary_unary

        def cancel_then_sdk(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                on_cancel()
            except Exception:  # the engine must still get its answer
                logger.exception("anyreach: handling the engine's Cancel failed")
            return sdk_cancel(request, context)

        service, method = CANCEL_METHOD.strip("/").split("/")
        ours = grpc.method_handlers_generic_handler(
            service,
            {
                method: grpc.unary_unary_rpc_method_handler(
                    cancel_then_sdk,
                    request_deserializer=original.request_deserializer,
                    response_serializer=original.response_serializer,
                )
            },
        )
        handlers.insert(0, ours)
    return True


def _running_server() -> grpc.Server | None:
    """The SDK host's gRPC server: a local of the host's ``main()``, which the main thread never leaves."""
    main = threading.main_thread().ident
    frame: FrameType | None = sys._current_frames().get(main) if main is not None else None
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, grpc.Server):
                return value
        frame = frame.f_back
    return None


def install() -> None:
    """Install the error rendering, the engine watchdog and the ``Cancel`` handler, once, if this is the
    provider host."""
    global _installed
    host = _host_module()
    if host is None:
        return
    with _install_lock:
        if _installed:
            return
        _installed = True
        host.traceback = _TracebackForHost()  # type: ignore[attr-defined]
        server = _running_server()
        if server is None or not hook_cancel(server, cancel):
            logger.warning(
                "anyreach: could not find the provider host's gRPC server to handle Cancel; Ctrl-C will not "
                "end the verifications (the SDK's host changed: see provider.host.provider_host)"
            )
        engine = engine_process()
        if engine is not None:
            EngineWatchdog(engine).start()
        else:
            logger.debug("no pulumi engine among this host's ancestors; the engine watchdog is off")
