"""The program's own process, when the engine closes it: end at once.

When an update fails (a resource errors, or Ctrl-C or SIGTERM cancelled it), the engine may leave the
program's last ``RegisterResource`` call unanswered and then close the Python language host: SIGINT to
its process group, and SIGKILL 5 s later if it is still there. The SDK's ``pulumi-language-python-exec``
turns SIGINT into ``KeyboardInterrupt``, then waits for the threads of its executor, one of which waits
for that unanswered call: the program lives on until the SIGKILL, and the CLI waits for it. Measured with
this CLI: every second failed or cancelled ``pulumi up`` ended 5 s late.

The language host runs in a process group of its own (a Ctrl-C at the terminal reaches the CLI alone), so
SIGINT reaches the program only when the engine closes it, when nothing the program still does matters:
:func:`end_program_when_closed` makes that SIGINT end the process at once. It does so only in a program
that the language host runs (never in an inline Automation API program, whose process is the user's), from
the main thread, and only where no one else handles SIGINT.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

__all__ = ["LANGUAGE_HOST_EXEC", "end_program_when_closed"]

LANGUAGE_HOST_EXEC = "pulumi-language-python-exec"
"""The script the Python language host runs the program with (``python -u <it> ... __main__.py``)."""


def _run_by_language_host() -> bool:
    # `sys.argv` is the program's by now; `sys.orig_argv` is the interpreter's own command line.
    return any(Path(argument).name == LANGUAGE_HOST_EXEC for argument in getattr(sys, "orig_argv", ()))


def _end_now(_signal: int, _frame: FrameType | None) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # the engine may have closed the pipe already
    os._exit(128 + signal.SIGINT)


def end_program_when_closed() -> bool:
    """In a program the Python language host runs, make SIGINT (the engine closing it) end the process at
    once; returns whether SIGINT does so now. Called wherever the program constructs a resource: only the
    main thread may set a signal handler, and the first call from it does."""
    current = signal.getsignal(signal.SIGINT)
    if current is _end_now:
        return True
    if current is not signal.default_int_handler or not _run_by_language_host():
        return False  # someone else's handler, or not a program of the language host: leave it
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGINT, _end_now)
    return True
