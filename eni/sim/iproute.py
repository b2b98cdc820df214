"""Runs iproute2's ``ip`` (and ``sysctl`` inside a namespace) for the simulated VPC, with a timeout each.

The simulation's data plane is small (a few links per node), so plain ``ip`` commands are clear and cheap
enough. Every command here names a namespace (``ip -n NS`` or ``ip netns exec NS``) or a namespace itself;
this module must never change the host's own namespace.
"""

from __future__ import annotations

import os
import subprocess

IP_TIMEOUT = 20.0


class SimNetError(RuntimeError):
    """An ``ip`` command of the simulation failed; the message carries the command and its stderr."""


def _run(argv: list[str], *, check: bool) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=IP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as e:
        raise SimNetError(f"{' '.join(argv)} timed out after {IP_TIMEOUT:.0f}s") from e
    if check and result.returncode != 0:
        raise SimNetError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def ip_in(netns: str, *args: str, check: bool = True) -> str:
    """``ip -n NETNS ARGS...``; returns stdout."""
    if not netns:
        raise ValueError("a namespace is required: the simulation never touches the host namespace")
    return _run(["ip", "-n", netns, *args], check=check).stdout


def sysctl_in(netns: str, key: str, value: str) -> None:
    """``sysctl -w KEY=VALUE`` inside NETNS."""
    if not netns:
        raise ValueError("a namespace is required: the simulation never touches the host namespace")
    _run(["ip", "netns", "exec", netns, "sysctl", "-qw", f"{key}={value}"], check=True)


def add_netns(name: str) -> None:
    """``ip netns add NAME`` with loopback up; an existing namespace of that name is an error."""
    _run(["ip", "netns", "add", name], check=True)
    ip_in(name, "link", "set", "lo", "up")


def delete_netns(name: str) -> bool:
    """``ip netns del NAME``; False when it did not exist (idempotent)."""
    if not netns_exists(name):
        return False
    _run(["ip", "netns", "del", name], check=False)
    return True


def netns_exists(name: str) -> bool:
    return bool(name) and "/" not in name and os.path.exists(f"/run/netns/{name}")


def list_netns() -> list[str]:
    """Names of the namespaces ``ip netns`` knows."""
    out = _run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]

