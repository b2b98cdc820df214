"""``tke-eni-sim kubelet``: the kubelet stand-in of one simulated node (internal to `up`).

It reads its node (namespace, instance, CNI dirs) from the state dir, serves the device-plugin
registration socket, publishes the extended resources, and runs the pods bound to the node.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from eni.sim.kube import KubeApi
from eni.sim.kubelet import FakeDeviceManager
from eni.sim.kubelet.cni_exec import CniExecutor
from eni.sim.kubelet.kubelet import SimKubelet
from eni.sim.kubelet.latency import LatencyLog
from eni.sim.kubelet.objects import NodeSpec
from eni.sim.kubelet.sandbox import SandboxRuntime, SandboxStore
from eni.sim.names import SimNames
from eni.sim.statedir import StateDir

from .process import serve_until_signalled

log = logging.getLogger("tke_eni_sim.kubelet")

REFERENCE_PLUGINS = Path("/usr/lib/cni")


@click.command("kubelet")
@click.option("--state-dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--node", "node_name", required=True, help="The node's name, as listed in the state dir.")
def command(state_dir: Path, node_name: str) -> None:
    """Run the kubelet stand-in of one simulated node (internal to `up`)."""
    stop = serve_until_signalled(f"kubelet/{node_name}")
    state = StateDir(state_dir)
    cluster = state.cluster()
    node = next((n for n in cluster.get("nodes") or [] if n.get("name") == node_name), None)
    if node is None or not cluster.get("prefix"):
        raise click.UsageError(f"node {node_name} is not part of the cluster in {state_dir}")
    spec = NodeSpec(name=node_name, instance_id=node["instance_id"], zone=node["zone"], region=cluster["region"],
                    instance_type=node["instance_type"], primary_ip=node["primary_ip"])
    bin_dirs = [Path(node["cni_bin_dir"])] + ([REFERENCE_PLUGINS] if REFERENCE_PLUGINS.is_dir() else [])
    runtime = SandboxRuntime(
        names=SimNames(cluster["prefix"]),
        store=SandboxStore(Path(node["sandbox_dir"])),
        executor=CniExecutor(node_netns=node["netns"], bin_dirs=bin_dirs),
        conf_dir=Path(node["cni_conf_dir"]),
    )
    latencies = LatencyLog(state.path / "latency" / f"{node_name}.log")
    api = KubeApi(state.kubeconfig)
    kubelet = SimKubelet(spec=spec, api=api, runtime=runtime, on_add_latency=latencies.record)
    devices = FakeDeviceManager(Path(node["device_plugin_dir"]), on_change=kubelet.on_resource_change)
    kubelet.devices = devices
    devices.start()
    try:
        kubelet.run(stop)
    finally:
        devices.stop()
        api.close()
    log.info("Stopped")
