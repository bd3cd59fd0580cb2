"""What the package adds to the SDK's provider host, unit by unit (the host itself:
test_provider_host_grpc.py)."""

from __future__ import annotations

import threading

from provider import provider_host
from provider.errors import ConflictError
from provider.provider_host import EngineWatchdog, render_error


def test_errors_of_ours_render_as_their_message_and_bugs_keep_their_traceback() -> None:
    error = ConflictError("registering", "acme.com", 409, "The domain acme.com is already registered.")
    assert render_error(error) == f"{error}\n"
    assert render_error(KeyError("bug")) is None
    shim = provider_host._TracebackForHost()
    try:
        raise error
    except ConflictError:
        assert shim.format_exc() == f"{error}\n"
    try:
        raise KeyError("bug")
    except KeyError:
        assert shim.format_exc().startswith("Traceback (most recent call last):")


def test_the_watchdog_acts_once_when_the_engine_is_gone() -> None:
    alive = threading.Event()
    alive.set()
    gone = threading.Event()
    calls: list[int] = []

    def on_gone() -> None:
        calls.append(1)
        gone.set()

    watchdog = EngineWatchdog(
        (123, "456"), is_alive=lambda engine: alive.is_set(), on_gone=on_gone, interval=0.01
    )
    watchdog.start()
    try:
        assert not gone.wait(0.1)  # still alive: nothing happens
        alive.clear()
        assert gone.wait(30)
        assert calls == [1]
    finally:
        watchdog.stop()


def test_nothing_is_installed_outside_the_provider_host() -> None:
    assert not provider_host.in_provider_host()
    provider_host.install()  # a no-op here: pytest is not the host
    assert not provider_host._installed
