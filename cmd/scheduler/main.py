"""tke-eni-ip-scheduler's command line: every flag, grouped, with its default and environment variable.

Parsing and validation only; what runs is decided by wiring.start. Each flag can also be set
through ``ENI_<FLAG>`` (``--listen`` -> ``ENI_LISTEN``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from eni.cli.entry import exit_status
from eni.cli.flags import CONTEXT_SETTINGS, DURATION, GroupedCommand, option
from eni.cli.settings import SettingsError

from . import wiring
from .settings import from_flags

EXTENDER, KUBE, CLOUD, SERVE = "Extender", "Kubernetes", "Tencent Cloud (optional)", "Serving and logging"


@click.command(cls=GroupedCommand, context_settings=CONTEXT_SETTINGS)
@option("--listen", group=EXTENDER, default="127.0.0.1:8900", metavar="HOST:PORT",
        help="Where kube-scheduler sends filter and prioritize requests (its extender urlPrefix).")
@option("--only-nominated-eni-subnets", group=EXTENDER, is_flag=True,
        help="Keep pods that do not nominate a subnet off the subnets that other pods nominate "
             "(use together with tke-eni-ipamd's flag of the same name).")
@option("--kubeconfig", group=KUBE, default="", show_default=False, metavar="PATH",
        help="Kubeconfig file. Default: the in-cluster service account.")
@option("--kube-client-qps", group=KUBE, type=click.FloatRange(min=0, min_open=True), default=10.0,
        help="Requests per second to the API server.")
@option("--kube-client-burst", group=KUBE, type=click.IntRange(min=1), default=20,
        help="Requests allowed above the QPS in a burst.")
@option("--region", group=CLOUD, default="", show_default=False,
        help="Region of the cluster. When set, subnets' free-IP counts are refreshed from the cloud in the "
             "background (never per request); when not, they are judged from the cluster's objects.")
@option("--cluster-id", group=CLOUD, default="", show_default=False, help="Cluster id (cls-...); with --region.")
@option("--cloud-endpoint", group=CLOUD, default="", show_default=False, metavar="HOST:PORT",
        help="Speak plain http to this cloud API endpoint (the local emulator). Default: Tencent Cloud's.")
@option("--credentials-file", group=CLOUD, type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="INI file with [default] secret_id and secret_key, used when the environment variables "
             "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY are not set.")
@option("--cloud-qps", group=CLOUD, type=click.FloatRange(min=0, min_open=True), default=5.0,
        help="Cloud API calls per second (describe calls only).")
@option("--subnet-refresh-interval", group=CLOUD, type=DURATION, default="30s",
        help="How often subnets' free-IP counts are refreshed.")
@option("--metrics-bind-address", group=SERVE, default="127.0.0.1:8901", metavar="HOST:PORT",
        help="HOST:PORT for /metrics; 0 disables.")
@option("--health-probe-bind-address", group=SERVE, default="127.0.0.1:8902", metavar="HOST:PORT",
        help="HOST:PORT for /healthz and /readyz; 0 disables.")
@option("--log-level", group=SERVE, type=click.Choice(["debug", "info", "warning", "error"]), default="info",
        help="Least severe level logged.")
@option("--log-format", group=SERVE, type=click.Choice(["json", "text"]), default="json", help="Log line format.")
@click.version_option(package_name="tke-eni", message="%(prog)s %(version)s")
def cli(**flags: Any) -> int:
    """tke-eni-ip-scheduler: a kube-scheduler extender for tke-eni's static IPs and exclusive ENIs.

    kube-scheduler POSTs each pod that requests tke.cloud.tencent.com/eni-ip or
    tke.cloud.tencent.com/direct-eni with its candidate nodes. Filter keeps a pod whose claim
    retains an IP on nodes whose zone holds that IP's subnet, a pod with nominated-eni-subnets on
    nodes of those subnets' zones, and drops nodes whose subnets have no free IP or that cannot
    attach another ENI, with reasons prefixed [ip-scheduler]. A tke-direct-eni pod needs a free
    warm exclusive ENI or room to attach one, and a static pod whose ENI was kept stays in that
    ENI's zone. Prioritize prefers nodes with an ENI in the pod's subnet and a free IP (or a warm
    exclusive ENI). Answers come from informer caches, never from a cloud call per request.
    """
    try:
        settings = from_flags(flags, env=os.environ)
    except SettingsError as e:
        raise click.BadParameter(e.problem, param_hint=f"'{e.flag}'") from e
    return wiring.start(settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run, and return the exit status; usage errors give 2."""
    return exit_status(cli, argv, prog_name="tke-eni-ip-scheduler")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
