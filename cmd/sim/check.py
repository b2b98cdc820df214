"""``tke-eni-sim check``: the four-view ledger check (cloud, CRDs, agents, pods) with a table."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eni.sim.kube import KubeApi
from eni.sim.ledgercheck import DEFAULT_GC_GRACE, run_check
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
    cloud holds no ENI or IP the CRDs don't know, and no agent holds an IP for a long-gone pod."""
    state, cluster = running_cluster(state_dir)
    endpoint = read_json(state.path / "cloud.json")["endpoint"]
    api = KubeApi(state.kubeconfig)
    try:
        report = run_check(endpoint=endpoint, api=api, nodes=cluster["nodes"], gc_grace=gc_grace, wait=wait)
    finally:
        api.close()
    click.echo(table(("IP", "CLOUD ENI@INSTANCE", "CRD", "AGENT LEDGER", "POD"), report.rows))
    click.echo()
    if report.ok:
        click.echo(f"check passed: {len(report.rows)} IPs consistent across cloud, CRDs, agents and pods")
        return
    click.echo(table(("PROBLEM", "SUBJECT", "DETAIL"), [(p.kind, p.subject, p.detail) for p in report.problems]))
    sys.exit(1)
