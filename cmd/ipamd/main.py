"""tke-eni-ipamd's command line: every flag, grouped, with its default and environment variable.

Parsing and validation only; what runs is decided by wiring.start. Each flag can also be set
through ``ENI_<FLAG>`` (``--ip-min-warm-target`` -> ``ENI_IP_MIN_WARM_TARGET``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from eni.cli.entry import exit_status
from eni.cli.flags import CONTEXT_SETTINGS, DURATION, LIST, GroupedCommand, option
from eni.cli.settings import SettingsError

from . import wiring
from .settings import from_flags

KUBE, CLOUD, POOL, CLAIMS, SG, NODES, GC, LEADER, SERVE = (
    "Kubernetes", "Tencent Cloud", "IP and ENI pools", "Static IPs and EIPs (claims)", "Security groups",
    "Node reporting", "Leaked-resource GC", "Leader election", "Serving and logging",
)


@click.command(cls=GroupedCommand, context_settings=CONTEXT_SETTINGS)
@option("--kubeconfig", group=KUBE, default="", show_default=False, metavar="PATH",
        help="Kubeconfig file. Default: the in-cluster service account.")
@option("--kube-client-qps", group=KUBE, type=click.FloatRange(min=0, min_open=True), default=10.0,
        help="Requests per second to the API server.")
@option("--kube-client-burst", group=KUBE, type=click.IntRange(min=1), default=20,
        help="Requests allowed above the QPS in a burst.")
@option("--region", group=CLOUD, required=True, help="Tencent Cloud region of the cluster, e.g. ap-guangzhou.")
@option("--vpc-id", group=CLOUD, required=True, help="The cluster's VPC (vpc-...).")
@option("--cluster-id", group=CLOUD, required=True,
        help="Cluster id (cls-...); tags every ENI and EIP created, so GC only touches this cluster's.")
@option("--cloud-endpoint", group=CLOUD, default="", show_default=False, metavar="HOST:PORT",
        help="Speak plain http to this cloud API endpoint (the local emulator). Default: Tencent Cloud's.")
@option("--credentials-file", group=CLOUD, type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="INI file with [default] secret_id and secret_key, used when the environment variables "
             "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY are not set.")
@option("--cloud-qps", group=CLOUD, type=click.FloatRange(min=0, min_open=True), default=50.0,
        help="Cloud API calls per second for the whole cluster (all actions together).")
@option("--cloud-request-timeout", group=CLOUD, type=DURATION, default="10s", help="Timeout of one cloud API call.")
@option("--mode", group=POOL, type=click.Choice(["non-static", "static"]), default="non-static",
        help="non-static: a warm pool of IPs per node. static: an IP claimed per pod that may outlive it.")
@option("--subnets", group=POOL, type=LIST, required=True,
        help="Subnets for pod ENIs (subnet-...); each node uses those in its zone.")
@option("--ip-min-warm-target", group=POOL, type=click.IntRange(min=0), default=5,
        help="Keep at least this many idle IPs bound on each node (non-static).")
@option("--ip-max-warm-target", group=POOL, type=click.IntRange(min=0), default=5,
        help="Release idle IPs beyond this many on each node (non-static).")
@option("--eni-min-warm-target", group=POOL, type=click.IntRange(min=0), default=1,
        help="Keep at least this many free exclusive (tke-direct-eni) ENIs on each node (non-static).")
@option("--eni-max-warm-target", group=POOL, type=click.IntRange(min=0), default=1,
        help="Give back free exclusive ENIs beyond this many on each node (non-static).")
@option("--enable-quick-release", group=POOL, is_flag=True,
        help="Release all surplus idle IPs at each tick instead of one per tick.")
@option("--release-interval", group=POOL, type=DURATION, default="2m", help="How often surplus IPs are released.")
@option("--claim-expired-duration", group=CLAIMS, type=DURATION, default=None,
        help="Give back a retained static IP, kept exclusive ENI or EIP this long after its pod is gone (at least 5m). "
             "Default: never; the pod annotation claim-expired-duration overrides it.")
@option("--enable-ownerref", group=CLAIMS, is_flag=True,
        help="Make each claim (and kept exclusive ENI) follow the pod's workload, so deleting the workload "
             "reclaims its addresses.")
@option("--only-nominated-eni-subnets", group=CLAIMS, is_flag=True,
        help="Reserve subnets named by pods' nominated-eni-subnets for those pods (static IPs and exclusive ENIs).")
@option("--enable-security-groups", group=SG, is_flag=True, help="Bind security groups to the nodes' ENIs.")
@option("--security-groups", group=SG, type=LIST, default="", show_default=False,
        help="sg-a,sg-b in order. Default: the groups of each node's instance, in order.")
@option("--enable-node-condition", group=NODES, is_flag=True,
        help="Report ENI/IP trouble as a condition on the Node.")
@option("--enable-node-taint", group=NODES, is_flag=True,
        help="Taint a Node while it cannot get ENIs or IPs.")
@option("--gc-interval", group=GC, type=DURATION, default="5m",
        help="How often cloud ENIs and IPs are compared with the cluster's objects.")
@option("--gc-grace", group=GC, type=DURATION, default="10m",
        help="An unknown, unattached ENI of this cluster is deleted after this long.")
@option("--leader-elect/--no-leader-elect", group=LEADER, default=True,
        help="Elect one active replica through a coordination.k8s.io Lease.")
@option("--leader-elect-lease-duration", group=LEADER, type=DURATION, default="15s",
        help="How long a lease lasts without renewal.")
@option("--leader-elect-renew-deadline", group=LEADER, type=DURATION, default="10s",
        help="How long the leader keeps retrying to renew before it gives up (and exits).")
@option("--leader-elect-retry-period", group=LEADER, type=DURATION, default="2s",
        help="Pause between attempts to acquire or renew.")
@option("--leader-elect-resource-namespace", group=LEADER, default="kube-system", help="Namespace of the Lease.")
@option("--leader-elect-resource-name", group=LEADER, default="tke-eni-ipamd", help="Name of the Lease.")
@option("--leader-elect-identity", group=LEADER, default="", show_default=False,
        help="This replica's name in the Lease. Default: the host name.")
@option("--metrics-bind-address", group=SERVE, default="127.0.0.1:8080", metavar="HOST:PORT",
        help="HOST:PORT for /metrics; 0 disables.")
@option("--health-probe-bind-address", group=SERVE, default="127.0.0.1:8081", metavar="HOST:PORT",
        help="HOST:PORT for /healthz and /readyz; 0 disables.")
@option("--log-level", group=SERVE, type=click.Choice(["debug", "info", "warning", "error"]), default="info",
        help="Least severe level logged.")
@option("--log-format", group=SERVE, type=click.Choice(["json", "text"]), default="json", help="Log line format.")
@click.version_option(package_name="tke-eni", message="%(prog)s %(version)s")
def cli(**flags: Any) -> int:
    """tke-eni-ipamd: the control plane of tke-eni, which alone talks to the Tencent Cloud API.

    It creates, attaches and deletes ENIs, assigns and unassigns their IPs, binds security
    groups and EIPs, and publishes each node's ENIs in its NodeENIConfig, from which the node
    agent works. Non-static mode keeps a warm pool of IPs per node within
    [pods + min warm, pods + max warm]; static mode claims an IP per pod (VpcIPClaim) that can
    outlive the pod. Run two replicas: leader election makes one of them active.

    Credentials come from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or else from
    --credentials-file; they are never printed.
    """
    try:
        settings = from_flags(flags, env=os.environ)
    except SettingsError as e:
        raise click.BadParameter(e.problem, param_hint=f"'{e.flag}'") from e
    return wiring.start(settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run, and return the exit status; usage errors give 2."""
    return exit_status(cli, argv, prog_name="tke-eni-ipamd")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
