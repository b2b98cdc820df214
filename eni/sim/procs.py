"""Starting and stopping the local cluster's processes: one per component, each with its own log file.

Each process gets its own session (so a stop reaches its children too) and is recorded in the state dir
as soon as it starts. ``stop_process`` only signals a pid whose command line still carries the state dir
path, so a recycled pid of an unrelated process is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from eni.sim.statedir import ProcessRecord, StateDir

STOP_TIMEOUT = 5.0

# Children started by this process, kept so they are reaped through Popen (no zombies, no warnings).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def program(name: str) -> str:
    """The path of one of the project's console scripts, next to the running interpreter first."""
    beside = Path(sys.executable).parent / name
    if os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"program {name} is not installed")
    return found


def _clean_environment() -> dict[str, str]:
    """The caller's environment minus anything that would reconfigure a component behind its flags
    (``ENI_*``) or point it at real cloud credentials (``TENCENTCLOUD_*``)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("ENI_", "TENCENTCLOUD_"))}


def spawn(state: StateDir, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """Start ``argv`` as component ``name`` (log in ``logs/<name>.log``); returns its pid."""
    state.logs.mkdir(parents=True, exist_ok=True)
    log_path = state.logs / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env={**_clean_environment(), **(env or {})}, start_new_session=True, cwd=state.path)
    _CHILDREN[proc.pid] = proc
    state.record_process(ProcessRecord(name, proc.pid, tuple(argv)))
    return proc.pid


def _cmdline(pid: int) -> str:
    """The command line of ``pid``; "" if it is gone. A process in the middle of exec shows an empty
    command line for a moment, so an empty one is read again briefly before it counts."""
    for _ in range(20):
        try:
            text = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""
        if text:
            return text
        time.sleep(0.02)
    return ""


def is_ours(record: ProcessRecord, state: StateDir) -> bool:
    """The pid is alive and is still the process we started (its command line names our state dir)."""
    try:
        stat = Path(f"/proc/{record.pid}/stat").read_text(errors="replace")
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]:
        _reap(record.pid)
        return False
    return str(state.path) in _cmdline(record.pid)


def _reap(pid: int) -> None:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def alive(record: ProcessRecord, state: StateDir) -> bool:
    return is_ours(record, state)


def signal_process(record: ProcessRecord, state: StateDir, sig: int) -> bool:
    """Send ``sig`` to the process group of ``record`` if it is ours; False if it is gone."""
    if not is_ours(record, state):
        return False
    try:
        os.killpg(record.pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        pass  # not a group leader (e.g. a stray started by something else): signal the process alone
    try:
        os.kill(record.pid, sig)
    except ProcessLookupError:
        return False
    return True


def _ancestors() -> set[int]:
    """This process and every process above it (never ours to stop, even if their command line names the
    state dir, e.g. the shell that runs ``tke-eni-sim down``)."""
    pids, pid = set(), os.getpid()
    for _ in range(256):  # bounded: a parent chain is never this deep
        pids.add(pid)
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text(errors="replace").rsplit(")", 1)[-1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if ppid <= 1:
            break
        pid = ppid
    return pids


def _names_path(arg: str, root: str) -> bool:
    """``arg`` is ``root`` or a path below it, bare or as ``--flag=value``.

    >>> [_names_path(a, "/s/c") for a in ("/s/c", "/s/c/logs", "--log=/s/c/x", "/s/c2", "--dir=/s/c2")]
    [True, True, True, False, False]
    """
    value = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
    return value == root or value.startswith(root + "/")


def stray_processes(state: StateDir, *, known: Collection[int] = ()) -> list[ProcessRecord]:
    """Processes whose command line names the state dir but that pids.json does not list.

    An ``up`` killed between starting a child and recording its pid leaves such a process behind; ``down``
    stops these too. Matches whole arguments (the dir itself or a path below it), so /tmp/c2 is not /tmp/c's.
    """
    root = str(state.path)
    skip = _ancestors() | set(known)
    strays = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            argv = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        if any(_names_path(a, root) for a in argv):
            strays.append(ProcessRecord(f"stray-{entry.name}", int(entry.name), tuple(argv)))
    return strays


def stop_processes(records: Sequence[ProcessRecord], state: StateDir, *, timeout: float = STOP_TIMEOUT) -> list[str]:
    """SIGTERM every live one, SIGKILL those still up after ``timeout``; returns the names that were running."""
    running = [r for r in records if signal_process(r, state, signal.SIGTERM)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(is_ours(r, state) for r in running):
        for r in running:
            _reap(r.pid)
        time.sleep(0.1)
    for r in running:
        if is_ours(r, state):
            signal_process(r, state, signal.SIGKILL)
    for r in running:
        _reap(r.pid)
    return [r.name for r in running]


def find(state: StateDir, name: str) -> ProcessRecord:
    for record in state.processes():
        if record.name == name:
            return record
    raise KeyError(f"no process named {name} in {state.path}")


def kill(state: StateDir, name: str) -> bool:
    """SIGKILL component ``name`` (a crash, not a shutdown); False if it was not running."""
    record = find(state, name)
    killed = signal_process(record, state, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT
    while killed and is_ours(record, state) and time.monotonic() < deadline:
        time.sleep(0.05)
    return killed


def restart(state: StateDir, name: str) -> int:
    """Start component ``name`` again with the command line it was started with; returns the new pid."""
    record = find(state, name)
    if is_ours(record, state):
        stop_processes([record], state)
    return spawn(state, name, record.argv)


def reap_children() -> None:
    """Collect children of this process that have exited (after a ``down`` run elsewhere stopped them)."""
    for pid in list(_CHILDREN):
        _reap(pid)
