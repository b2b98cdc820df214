"""``tke-eni-sim exec``: run a command inside a pod's network namespace.

``ping`` works even where no ping binary is installed: it is answered by a built-in ICMP echo.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from eni.sim.kube import KubeApi
from eni.sim.names import SimNames
from eni.sim.probe import ping

from .common import running_cluster, state_dir_option


def _builtin_ping(netns: str, args: list[str]) -> int:
    targets = [a for a in args if not a.startswith("-") and not a.isdigit()]
    count = 3
    if "-c" in args and args.index("-c") + 1 < len(args):
        count = int(args[args.index("-c") + 1])
    if not targets:
        click.echo("ping: usage: ping [-c COUNT] ADDRESS", err=True)
        return 2
    target, received = targets[-1], 0
    for seq in range(count):
        rtt = ping(netns, target, timeout=1.0)
        if rtt is None:
            click.echo(f"no reply from {target} (seq {seq + 1})")
        else:
            received += 1
            click.echo(f"reply from {target}: seq={seq + 1} time={rtt * 1000:.2f} ms")
    click.echo(f"{count} sent, {received} received")
    return 0 if received else 1


@click.command("exec", context_settings={"ignore_unknown_options": True})
@state_dir_option
@click.option("-n", "--namespace", default="default", show_default=True)
@click.argument("pod")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
def command(state_dir: Path, namespace: str, pod: str, argv: tuple[str, ...]) -> None:
    """Run ARGV in POD's network namespace, e.g. `exec --state-dir D web-0 -- ping -c 2 10.0.1.7`."""
    state, cluster = running_cluster(state_dir)
    api = KubeApi(state.kubeconfig)
    try:
        found = api.core.read_namespaced_pod(pod, namespace, _preload_content=False,
                                             _request_timeout=api.timeout).json()
    except Exception as e:
        raise click.UsageError(f"pod {namespace}/{pod} not found: {e}") from e
    finally:
        api.close()
    netns = SimNames(cluster["prefix"]).pod(found["metadata"]["uid"])
    if not os.path.exists(f"/run/netns/{netns}"):
        raise click.UsageError(f"pod {namespace}/{pod} has no network namespace (not running on a node yet?)")
    args = list(argv)
    if args[0] == "ping" and shutil.which("ping") is None:
        sys.exit(_builtin_ping(netns, args[1:]))
    sys.exit(subprocess.call(["ip", "netns", "exec", netns, *args]))
