"""A program that the Python language host runs ends at once when the engine closes it (SIGINT), even while
one of its threads waits for an RPC the engine will never answer; any other process keeps Python's own
SIGINT handling (provider.host.program_exit)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from provider.host import program_exit

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import os, signal, sys, threading
sys.path.insert(0, {root!r})
from provider.host.program_exit import end_program_when_closed
print(end_program_when_closed(), flush=True)
# Like the SDK's executor thread whose RegisterResource the engine never answers: the interpreter's exit
# waits for it (a non-daemon thread).
threading.Thread(target=threading.Event().wait).start()
os.kill(os.getpid(), signal.SIGINT)  # the engine closing the language host
threading.Event().wait()
"""


def run(tmp_path: Path, script_name: str) -> subprocess.Popen[str]:
    script = tmp_path / script_name
    script.write_text(PROGRAM.format(root=str(ROOT)))
    return subprocess.Popen(
        [sys.executable, "-u", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # SIGINT at its default disposition, as the language host's child has it (the CLI handles SIGINT,
        # so exec resets it): a test run started as a background job inherits SIGINT ignored, and Python
        # then installs no KeyboardInterrupt handler at all.
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_ends_a_program_of_the_language_host_at_once(tmp_path: Path) -> None:
    process = run(tmp_path, program_exit.LANGUAGE_HOST_EXEC)
    try:
        returncode = process.wait(timeout=60)  # without the handler: never (the thread is never done)
    finally:
        process.kill()
    output, errors = process.communicate(timeout=30)
    assert output.split() == ["True"]
    assert returncode == 128 + signal.SIGINT, errors


def test_any_other_process_keeps_pythons_own_sigint_handling(tmp_path: Path) -> None:
    process = run(tmp_path, "automation_api_program.py")
    try:
        assert process.stdout is not None and process.stdout.readline().split() == ["False"]
        assert process.stderr is not None
        guard = threading.Timer(60, process.kill)  # a generous deadline for the lines below
        guard.start()
        # KeyboardInterrupt's traceback: Python handled the SIGINT (the stream ends if the process does).
        errors = ""
        for line in process.stderr:
            errors += line
            if line.strip() == "KeyboardInterrupt":
                break
        guard.cancel()
        assert errors.endswith("KeyboardInterrupt\n"), errors
        assert process.poll() is None, errors  # ... and, as before, waits for its thread
    finally:
        process.kill()
        process.communicate(timeout=30)


def test_the_handler_is_left_alone_where_someone_else_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, f"/bin/{program_exit.LANGUAGE_HOST_EXEC}"])
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert program_exit.end_program_when_closed() is False
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
