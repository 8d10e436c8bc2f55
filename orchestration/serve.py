"""Serve the Dagster UI together with the daemon, as two child processes, and stop both cleanly.

``dagster-webserver`` serves the UI; ``dagster-daemon run`` runs schedules, sensors, the run
queue and automation conditions (the webserver alone runs none). Each child starts in a process
group of its own, so a terminal's Ctrl-C reaches only this supervisor, which then stops each
group with SIGTERM (the code servers and run workers the children started go with them) and
with SIGKILL after a grace period. ``dagster dev`` is not used: started from a
non-interactive shell it ignores SIGTERM (STACK.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

CODE_LOCATION = "orchestration.definitions"
STOP_GRACE_S = 20.0
POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class Child:
    """A supervised process: what it is, and its process (= process group) id."""

    name: str
    process: subprocess.Popen[bytes]


def commands(host: str, port: int) -> dict[str, list[str]]:
    """Return the command lines of the webserver and the daemon."""
    bin_dir = Path(sys.executable).parent
    return {
        "webserver": [str(bin_dir / "dagster-webserver"), "-h", host, "-p", str(port),
                      "-m", CODE_LOCATION],
        "daemon": [str(bin_dir / "dagster-daemon"), "run", "-m", CODE_LOCATION],
    }


def serve(env: Mapping[str, str], host: str, port: int,
          announce: Callable[[str], None] = print) -> int:
    """Run the webserver and the daemon until SIGINT/SIGTERM or until one of them exits.

    Returns 0 after a requested stop, else the exit code of the child that ended first.
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, _setter(stop)) for sig in (signal.SIGINT, signal.SIGTERM)}
    children: list[Child] = []
    try:
        for name, command in commands(host, port).items():
            children.append(Child(name, subprocess.Popen(
                command, env={**os.environ, **env}, start_new_session=True)))
        announce(f"Dagster UI on http://{host}:{port} (webserver pid "
                 f"{children[0].process.pid}, daemon pid {children[1].process.pid}); "
                 "Ctrl-C stops both")
        while not stop.wait(POLL_S):
            ended = next((child for child in children if child.process.poll() is not None),
                         None)
            if ended is not None:
                announce(f"{ended.name} exited with code {ended.process.returncode}; stopping")
                return ended.process.returncode or 1
        announce("stopping the Dagster webserver and daemon")
        return 0
    finally:
        _stop_all(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _setter(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()
    return handle


def _stop_all(children: list[Child]) -> None:
    # TERM every group first, then wait: the children shut down in parallel.
    for child in children:
        _signal_group(child, signal.SIGTERM)
    for child in children:
        try:
            child.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.process.wait()
    # A child may have exited while its own children (code servers) still wind down: give
    # them the rest of the grace period, then kill what is left of the group.
    deadline = time.monotonic() + STOP_GRACE_S
    while any(_group_alive(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    for child in children:
        _signal_group(child, signal.SIGKILL)


def _group_alive(child: Child) -> bool:
    try:
        os.killpg(child.process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(child: Child, sig: signal.Signals) -> None:
    # The group id is the child's pid (start_new_session); it outlives the child itself.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, sig)
