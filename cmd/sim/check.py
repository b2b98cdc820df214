"""``tke-eni-sim check``: the four-view ledger check (cloud, CRDs, agents, pods) with a table."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from eni.sim.kube import KubeApi
from eni.sim.ledgercheck import DEFAULT_GC_GRACE, run_check
from eni.sim.names import SimNames
from eni.sim.statedir import read_json
from eni.sim.ui import table

from .common import running_cluster, state_dir_option


@click.command("check")
@state_dir_option
@click.option("--gc-grace", default=DEFAULT_GC_GRACE, show_default=True, type=click.FloatRange(0),
              help="Seconds an allocation of a gone pod may linger before it counts as stale.")
@click.option("--wait", default=0.0, show_default=True, type=click.FloatRange(0, 600),
              help="Repeat the check until it passes or this many seconds passed (lets in-flight work settle).")
def command(state_dir: Path, gc_grace: float, wait: float) -> None:
    """Exit 0 only if no IP is held twice, every Running pod's IP is on its node's ENI in the cloud, the
    cloud holds no ENI or IP the CRDs don't know, no agent holds an IP for a long-gone pod, and every
    attached ENI's link is in its node's namespace or (an exclusive ENI) in the namespace of the pod holding it."""
    state, cluster = running_cluster(state_dir)
    endpoint = read_json(state.path / "cloud.json")["endpoint"]
    api = KubeApi(state.kubeconfig)
    try:
        # The namespaces' links can only be read as root; without, the data plane is left out (and said so).
        names = SimNames(cluster["prefix"]) if os.geteuid() == 0 else None
        report = run_check(endpoint=endpoint, api=api, nodes=cluster["nodes"], names=names, gc_grace=gc_grace,
                           wait=wait)
    finally:
        api.close()
    click.echo(table(("IP", "CLOUD ENI@INSTANCE", "CRD", "AGENT LEDGER", "POD"), report.rows))
    click.echo()
    if report.eni_rows:
        click.echo(table(("EXCLUSIVE ENI", "PRIMARY IP", "NODE", "LINK IN"), report.eni_rows))
        click.echo()
    if report.ok:
        click.echo(f"check passed: {len(report.rows)} IPs consistent across cloud, CRDs, agents and pods"
                   + ("" if names else " (ENI links not looked at: that needs root)"))
        return
    click.echo(table(("PROBLEM", "SUBJECT", "DETAIL"), [(p.kind, p.subject, p.detail) for p in report.problems]))
    sys.exit(1)
