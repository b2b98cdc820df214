"""``tke-eni-sim cni-check``: run CNI CHECK for a pod the way its node's runtime would, on request.

It uses the pod's sandbox record (container id, namespace, cached ADD result) and its node's CNI dirs,
so the plugins see exactly what they saw at ADD. Exit 0 when every plugin in the chain is satisfied.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eni.sim.kube import KubeApi
from eni.sim.kubelet.cni_exec import CniError, CniExecutor
from eni.sim.kubelet.sandbox import SandboxRuntime, SandboxStore
from eni.sim.names import SimNames

from .common import running_cluster, state_dir_option
from .kubelet import REFERENCE_PLUGINS


@click.command("cni-check")
@state_dir_option
@click.option("-n", "--namespace", default="default", show_default=True)
@click.argument("pod")
def command(state_dir: Path, namespace: str, pod: str) -> None:
    """Run CNI CHECK through POD's node's plugin chain with the cached ADD result."""
    state, cluster = running_cluster(state_dir)
    api = KubeApi(state.kubeconfig)
    try:
        found = api.core.read_namespaced_pod(pod, namespace, _preload_content=False,
                                             _request_timeout=api.timeout).json()
    except Exception as e:
        raise click.UsageError(f"pod {namespace}/{pod} not found: {e}") from e
    finally:
        api.close()
    node = next((n for n in cluster["nodes"] if n["name"] == (found.get("spec") or {}).get("nodeName")), None)
    if node is None:
        raise click.UsageError(f"pod {namespace}/{pod} is not on a node of this cluster")
    store = SandboxStore(Path(node["sandbox_dir"]))
    record = store.all().get(found["metadata"]["uid"])
    if record is None:
        raise click.UsageError(f"pod {namespace}/{pod} has no sandbox on {node['name']}")
    bin_dirs = [Path(node["cni_bin_dir"])] + ([REFERENCE_PLUGINS] if REFERENCE_PLUGINS.is_dir() else [])
    runtime = SandboxRuntime(names=SimNames(cluster["prefix"]), store=store, conf_dir=Path(node["cni_conf_dir"]),
                             executor=CniExecutor(node_netns=node["netns"], bin_dirs=bin_dirs))
    try:
        runtime.check(record)
    except CniError as e:
        click.echo(f"CHECK failed: {e}", err=True)
        sys.exit(1)
    click.echo(f"CHECK passed for {namespace}/{pod} ({record.ip}) on {node['name']}")
