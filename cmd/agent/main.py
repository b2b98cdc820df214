"""tke-eni-agent's command line: the node daemon's flags, and the operator subcommands ipam and uninstall.

Parsing and validation only; what the daemon runs is decided by wiring.start. Each daemon flag
can also be set through ``ENI_<FLAG>`` (``--ip-cooldown`` -> ``ENI_IP_COOLDOWN``); the
subcommands read the same variables for the paths they share with the daemon.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from eni.cli.entry import exit_status
from eni.cli.flags import CONTEXT_SETTINGS, DURATION, GroupedCommand, GroupedGroup, option
from eni.cli.settings import SettingsError
from eni.cni.bundle import DEFAULT_INTERPRETER
from eni.cni.config import DEFAULT_AGENT_SOCKET
from eni.cni.errors import CniError

from . import ipam as ipam_view
from . import profiling, wiring
from . import uninstall as uninstaller
from .settings import from_flags

NODE, KUBE, CNI, API, IPAM, DEVICES, SERVE = (
    "Node", "Kubernetes", "CNI plugins", "Agent API", "Pod IPs", "Device plugins", "Serving and logging",
)
ABS_DIR = click.Path(file_okay=False, path_type=Path)
ABS_FILE = click.Path(dir_okay=False, path_type=Path)
# Subcommand flags without an explicit envvar get ENI_<SUBCOMMAND>_<FLAG> (click derives the prefix).
SUBCOMMAND_SETTINGS = {key: value for key, value in CONTEXT_SETTINGS.items() if key != "auto_envvar_prefix"}


@click.group(cls=GroupedGroup, context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@option("--node-name", group=NODE, envvar=["ENI_NODE_NAME", "NODE_NAME"], default=None,
        help="This node's name (the Node and its NodeENIConfig). Required to run the daemon.")
@option("--netns", group=NODE, default="", show_default=False, metavar="NAME|PATH",
        help="The node's network namespace. Default: the one the agent runs in.")
@option("--sync-interval", group=NODE, type=DURATION, default="10s",
        help="How often node set-up (CNI files, ENIs, rules, sysctls) is re-checked and drift repaired.")
@option("--kubeconfig", group=KUBE, default="", show_default=False, metavar="PATH",
        help="Kubeconfig file. Default: the in-cluster service account.")
@option("--kube-client", group=KUBE, type=click.Choice(["stdlib", "official"]), default="stdlib",
        help="How to reach the API server: the light standard-library transport, or the official Kubernetes "
             "client (needed for kubeconfigs with exec or auth-provider credential plugins; ~30 MiB more memory).")
@option("--kube-client-qps", group=KUBE, type=click.FloatRange(min=0, min_open=True), default=5.0,
        help="Requests per second to the API server.")
@option("--kube-client-burst", group=KUBE, type=click.IntRange(min=1), default=10,
        help="Requests allowed above the QPS in a burst.")
@option("--cni-bin-dir", group=CNI, type=ABS_DIR, default="/opt/cni/bin",
        help="Where tke-route-eni and tke-eni-ipamc are installed.")
@option("--cni-conf-dir", group=CNI, type=ABS_DIR, default="/etc/cni/net.d", help="Where the conflist is written.")
@option("--plugin-interpreter", group=CNI, default=DEFAULT_INTERPRETER,
        help="The #! command line of the installed plugins (the host's python3). A leading /usr/bin/env is "
             "resolved through the agent's PATH when installing (one exec less per plugin run): in a container "
             "whose files are not the host's, give the host's interpreter path explicitly. A path and one flag "
             "cluster with -I (/usr/bin/python3 -IS) starts fastest: the plugin's loader then rides on that line.")
@option("--port-mapping", group=CNI, is_flag=True, help="Chain the portmap plugin so that hostPort works.")
@option("--grpc-socket", group=API, type=ABS_FILE, default="/run/tke-eni/agent.sock",
        help="Unix socket of the agent's gRPC API (mode 0600).")
@option("--json-socket", group=API, type=ABS_FILE, default=DEFAULT_AGENT_SOCKET,
        help="Unix socket of the same API in JSON, used by the CNI plugins (mode 0600).")
@option("--state-dir", group=IPAM, type=ABS_DIR, default="/var/lib/tke-eni",
        help="Holds the crash-safe ledger of pod IP allocations.")
@option("--ip-cooldown", group=IPAM, type=DURATION, default="30s",
        help="A released IP is not given to another pod before this long.")
@option("--gc-interval", group=IPAM, type=DURATION, default="1m",
        help="How often allocations are compared with the pods of this node.")
@option("--gc-grace", group=IPAM, type=DURATION, default="60s",
        help="An allocation whose pod is gone is released after this long.")
@option("--mode", group=IPAM, type=click.Choice(["non-static", "static"]), default="non-static", show_default=True,
        help="tke-eni-ipamd's --mode: in static mode ipamd binds a pod's IP after scheduling, so every bindable IP "
             "is allocatable.")
@option("--enable-quick-release", group=IPAM, is_flag=True,
        help="Accepted for compatibility with TKE's agent; release pacing is set by tke-eni-ipamd's flag of the "
             "same name.")
@option("--device-plugin-dir", group=DEVICES, type=ABS_DIR, default="/var/lib/kubelet/device-plugins",
        help="The kubelet's device-plugin folder (kubelet.sock and the plugins' sockets).")
@option("--metrics-bind-address", group=SERVE, default="127.0.0.1:9100", metavar="HOST:PORT",
        help="HOST:PORT for /metrics; 0 disables.")
@option("--health-probe-bind-address", group=SERVE, default="127.0.0.1:9101", metavar="HOST:PORT",
        help="HOST:PORT for /healthz and /readyz; 0 disables.")
@option("--log-level", group=SERVE, type=click.Choice(["debug", "info", "warning", "error"]), default="info",
        help="Least severe level logged.")
@option("--log-format", group=SERVE, type=click.Choice(["json", "text"]), default="json", help="Log line format.")
@click.version_option(package_name="tke-eni", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, /, **flags: Any) -> int:
    """tke-eni-agent: the node daemon of tke-eni (run as a DaemonSet, host network, privileged).

    Without a subcommand it runs the daemon: it installs the CNI plugins and their config, brings
    up the ENIs that the node's NodeENIConfig lists (found by MAC) with their route tables and
    policy rules, keeps ip_forward=1 and rp_filter=0, hands pod IPs out of a crash-safe ledger over
    its gRPC and JSON sockets, frees the IPs of vanished pods, publishes status.agent of its NodeENIConfig,
    moves exclusive ENIs (tke-direct-eni) into their pods' namespaces and back, and registers the extended
    resources tke.cloud.tencent.com/eni-ip, direct-eni and eip with the kubelet. It never calls the cloud API.
    """
    if ctx.invoked_subcommand is not None:
        return 0
    try:
        settings = from_flags(flags)
    except SettingsError as e:
        raise click.BadParameter(e.problem, param_hint=f"'{e.flag}'") from e
    profile = os.environ.get(profiling.PROFILE_VARIABLE)
    if profile:
        return profiling.profiled(lambda: wiring.start(settings), Path(profile))
    return wiring.start(settings)


@cli.command(cls=GroupedCommand, context_settings=SUBCOMMAND_SETTINGS)
@option("--json-socket", group="Options", type=ABS_FILE, envvar="ENI_JSON_SOCKET", default=DEFAULT_AGENT_SOCKET,
        help="The running agent's JSON socket.")
@option("--output", "-o", group="Options", type=click.Choice(["table", "json"]), default="table",
        help="Output format.")
@option("--timeout", group="Options", type=DURATION, default="5s", help="How long to wait for the agent.")
def ipam(json_socket: Path, output: str, timeout: Any) -> int:
    """List this node's allocations (pod, container, IP, ENI, age; the kind, shared IP or exclusive ENI, on nodes
    with exclusive ENIs), as the running agent holds them."""
    try:
        rows, direct = ipam_view.list_node(str(json_socket), timeout=timeout.total_seconds())
    except CniError as e:
        raise click.ClickException(e.msg) from e
    click.echo(ipam_view.render_table(rows, kinds=direct) if output == "table" else ipam_view.render_json(rows))
    return 0


@cli.command(cls=GroupedCommand, context_settings=SUBCOMMAND_SETTINGS)
@option("--cni-bin-dir", group="Options", type=ABS_DIR, envvar="ENI_CNI_BIN_DIR", default="/opt/cni/bin",
        help="Where the plugins were installed.")
@option("--cni-conf-dir", group="Options", type=ABS_DIR, envvar="ENI_CNI_CONF_DIR", default="/etc/cni/net.d",
        help="Where the network config was written.")
@option("--dry-run", group="Options", is_flag=True, help="Only print what would be removed.")
def uninstall(cni_bin_dir: Path, cni_conf_dir: Path, dry_run: bool) -> int:
    """Remove tke-eni's CNI plugins and the network configs whose main plugin is ours."""
    act = uninstaller.plan if dry_run else uninstaller.uninstall
    removal = act(bin_dir=cni_bin_dir, conf_dir=cni_conf_dir)
    verb = "would remove" if dry_run else "removed"
    for path in (*removal.configs, *removal.plugins):
        click.echo(f"{verb} {path}")
    if not removal.configs and not removal.plugins:
        click.echo("nothing to remove")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run, and return the exit status; usage errors give 2."""
    return exit_status(cli, argv, prog_name="tke-eni-agent")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
