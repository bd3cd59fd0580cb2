"""Did the Pulumi program run in this deployment? The answer says whether ``configure()`` got the current
stack config or the copy the engine stored with the stack.

The engine hands the dynamic providers the stack config in ``configure()``. When it runs the program
(``pulumi up``, ``preview``, ``refresh --run-program``, ``destroy --run-program``) that is this run's
config; when it does not (``pulumi refresh`` or ``pulumi destroy`` alone), it is the copy kept in the
state from the last run of the program, which may hold a token the user has since rotated or removed. The
two look the same to the provider, so the program leaves a marker: every resource of this package calls
:func:`record_program_run` when the program constructs it, which creates an empty file named after the
``pulumi`` process that runs the deployment (its pid and start time, so a reused pid never matches), in a
directory only this user can write. The provider host, a child of that same process, asks
:func:`program_ran`.

Only Linux exposes the process tree this needs (``/proc``); elsewhere, and outside a ``pulumi`` process
(tests, an inline Automation API program), :func:`program_ran` answers ``None`` (unknown) and callers treat
the config as current, which is what every earlier release did.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENGINE_COMMAND", "engine_process", "engine_running", "program_ran", "record_program_run"]

ENGINE_COMMAND = "pulumi"
"""The command name (``/proc/<pid>/comm``) of the process that runs a deployment."""

_PROC = Path("/proc")


@dataclass(frozen=True)
class _ProcessStat:
    """What this package reads of ``/proc/<pid>/stat`` (proc(5))."""

    name: str
    """The command name (field 2)."""
    state: str
    """``R``, ``S``, ... ``Z`` for a zombie (field 3)."""
    parent: int
    """The parent's pid (field 4)."""
    start_time: str
    """When the process started, in clock ticks after boot (field 22): with the pid, it names one process
    (a pid is reused, a pid and a start time are not)."""


def _process_stat(pid: int) -> _ProcessStat | None:
    """The stat of process ``pid``, or None when there is no such process (or no ``/proc``)."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    close = text.rindex(")")
    fields = text[close + 2 :].split()
    return _ProcessStat(text[text.index("(") + 1 : close], fields[0], int(fields[1]), fields[19])


def engine_process(start: int | None = None) -> tuple[int, str] | None:
    """``(pid, start time)`` of the nearest ancestor named ``pulumi`` of process ``start`` (default: this
    process), or None when there is none or the system has no ``/proc``."""
    pid = os.getpid() if start is None else start
    for _ in range(64):  # a process tree is never this deep; the bound guards against a cycle
        process = _process_stat(pid)
        if process is None:
            return None
        if process.name == ENGINE_COMMAND and pid != os.getpid():
            return pid, process.start_time
        if process.parent <= 1:
            return None
        pid = process.parent
    return None


def engine_running(engine: tuple[int, str]) -> bool:
    """Whether the ``pulumi`` process ``engine`` (``(pid, start time)`` as :func:`engine_process` gives it)
    still runs: the same pid with the same start time (a reused pid does not count), not a zombie."""
    process = _process_stat(engine[0])
    return (
        process is not None
        and process.name == ENGINE_COMMAND
        and process.state != "Z"
        and process.start_time == engine[1]
    )


def _marker_directory() -> Path | None:
    """This user's private marker directory, created if needed; None if it is not safe to use."""
    directory = Path(tempfile.gettempdir()) / f"anyreach-pulumi-runs-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    try:
        info = directory.lstat()
    except OSError:
        return None
    # Another user's directory (or a link planted there) must not vouch for our runs.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None
    return directory


def _marker(engine: tuple[int, str]) -> Path | None:
    directory = _marker_directory()
    return None if directory is None else directory / f"{engine[0]}-{engine[1]}"


@functools.cache
def record_program_run() -> None:
    """Note that the program runs in the current deployment (called where the program constructs a
    resource; the work is done once per process, which serves one deployment). Does nothing outside a
    ``pulumi`` process or without ``/proc``; never raises."""
    engine = engine_process()
    if engine is None:
        return
    marker = _marker(engine)
    if marker is None:
        return
    with contextlib.suppress(OSError):
        marker.touch(mode=0o600)
        _forget_finished_runs(marker.parent)


def program_ran() -> bool | None:
    """Whether the program ran in the deployment this process serves; None when it cannot be told.
    Once it has, it stays so (the host serves one deployment), and the process tree is not walked again."""
    global _program_seen
    if _program_seen:
        return True
    engine = engine_process()
    if engine is None:
        return None
    marker = _marker(engine)
    ran = None if marker is None else marker.exists()
    _program_seen = ran is True
    return ran


_program_seen = False


def _forget_finished_runs(directory: Path) -> None:
    """Remove the markers of deployments whose ``pulumi`` process is gone."""
    for marker in directory.iterdir():
        pid, _, started = marker.name.partition("-")
        if not (pid.isdigit() and engine_running((int(pid), started))):
            with contextlib.suppress(OSError):
                marker.unlink()
