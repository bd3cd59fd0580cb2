"""Telling this run's stack config from the copy stored with the stack: the program's marker, found by the
provider host, both descendants of one `pulumi` process (here a stand-in process named `pulumi`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from provider.host import program_run
from provider.host.program_run import engine_process, engine_running, program_ran, record_program_run

ROOT = Path(__file__).resolve().parents[2]

ENGINE = """
import subprocess, sys
def child(code):
    command = [sys.argv[1], "-c", code]
    return subprocess.run(command, capture_output=True, text=True, cwd=sys.argv[2], check=True).stdout.strip()
ask = "from provider.host.program_run import program_ran; print(program_ran())"
print(child(ask))                                                                # a host before the program
print(child("from provider.host.program_run import record_program_run; record_program_run()") or "-")
print(child(ask))                                                                # a host after it
"""


def run_under_engine(tmp_path: Path) -> list[str]:
    """Run the script above in a process named `pulumi`, the way the engine runs plugins."""
    engine = tmp_path / "pulumi"
    engine.symlink_to(sys.executable)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [str(engine), "-c", ENGINE, sys.executable, str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return result.stdout.split()


def test_a_host_sees_the_program_ran_only_after_the_program_left_its_marker(tmp_path: Path) -> None:
    assert run_under_engine(tmp_path) == ["False", "-", "True"]


def test_another_deployment_never_sees_this_ones_marker(tmp_path: Path) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    first.mkdir()
    second.mkdir()
    assert run_under_engine(first) == ["False", "-", "True"]
    # A new `pulumi` process (another pid, another start time) starts with no marker.
    assert run_under_engine(second)[0] == "False"


def test_outside_a_pulumi_process_it_cannot_be_told() -> None:
    assert engine_process() is None
    record_program_run()  # does nothing, raises nothing
    assert program_ran() is None


def test_an_engine_runs_as_long_as_its_process_with_the_same_start_time(tmp_path: Path) -> None:
    command = tmp_path / "pulumi"
    command.symlink_to(sys.executable)
    process = subprocess.Popen([str(command), "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        engine = engine_process(process.pid)
        assert engine is not None and engine[0] == process.pid
        assert engine_running(engine)
        assert not engine_running((process.pid, engine[1] + "0"))  # the pid, reused by a later process
        assert process.stdin is not None
        process.stdin.close()
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # it has ended, and is not reaped yet
        assert not engine_running(engine)  # a zombie
    finally:
        process.kill()
        process.wait()
    assert not engine_running(engine)  # gone


def test_a_process_not_named_pulumi_is_no_engine() -> None:
    this_process = program_run._process_stat(os.getpid())
    assert this_process is not None and this_process.name != "pulumi"
    assert not engine_running((os.getpid(), this_process.start_time))
