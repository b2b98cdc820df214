"""``check``: the four-view ledger check of a local cluster — cloud, CRDs, agents' ledgers, pods.

``evaluate`` is a pure function of the collected ``Views`` and finds:
- an IP held by two pods (``duplicate``);
- a Running pod whose IP is not assigned in the cloud to an ENI attached to its node's instance (``unrouted``);
- a secondary ENI or IP in the cloud that no CRD knows (``leak``);
- an agent allocation whose pod is gone for longer than the GC grace (``stale``);
- with the data plane looked at (``links_seen``): an ENI attached to a node in the cloud with no link of its
  MAC in that node's namespace nor in a namespace of one of its pods (``missing``); an ENI link in a pod's
  namespace that is not that pod's own exclusive ENI, i.e. not an ENI attached as an extension ENI or the pod
  is not Running there with the ENI's primary IP (``stranded``); a Running pod whose IP is the primary IP of
  an exclusive ENI that is not in the pod's namespace (``unplugged``). An exclusive ENI is where it should be
  in its pod's namespace, or free in the node's namespace.
``collect`` gathers the views (emulator admin state, the API server, each agent's JSON socket, the ENI links
of the cluster's namespaces). Nothing here writes anywhere.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eni.api.v1.constants import GROUP, VERSION
from eni.sim.enilinks import eni_links
from eni.sim.kube import KubeApi
from eni.sim.names import SimNames

DEFAULT_GC_GRACE = 90.0


@dataclass(frozen=True, slots=True)
class CloudIp:
    ip: str
    eni_id: str
    instance_id: str
    primary: bool


@dataclass(frozen=True, slots=True)
class CloudEni:
    eni_id: str
    mac: str
    instance_id: str
    primary_ip: str
    primary: bool
    """The instance's own primary ENI (``eth0`` of the node)."""
    direct: bool = False
    """Attached as an extension ENI (an exclusive ENI, which a pod may hold in its namespace)."""


@dataclass(frozen=True, slots=True)
class PodView:
    key: str
    node: str
    ip: str
    phase: str
    host_network: bool
    netns: str = ""
    """The pod's network namespace in the simulation (empty when unknown)."""


@dataclass(frozen=True, slots=True)
class AgentAllocation:
    node: str
    pod: str
    ip: str
    allocated_at: float


@dataclass
class Views:
    """Everything the check compares; built by ``collect`` or by tests."""

    cloud_ips: dict[str, CloudIp] = field(default_factory=dict)
    cloud_secondary_enis: set[str] = field(default_factory=set)
    cloud_enis: dict[str, CloudEni] = field(default_factory=dict)
    node_instances: dict[str, str] = field(default_factory=dict)  # node name -> instance id
    crd_enis: set[str] = field(default_factory=set)  # VpcENI names and ENIs listed by NEC statuses
    crd_ips: dict[str, str] = field(default_factory=dict)  # IP -> where a CRD lists it
    allocations: list[AgentAllocation] = field(default_factory=list)
    pods: list[PodView] = field(default_factory=list)
    unreachable_agents: list[str] = field(default_factory=list)
    node_netns: dict[str, str] = field(default_factory=dict)  # node name -> its namespace
    links: dict[str, list[str]] = field(default_factory=dict)  # ENI MAC -> namespaces holding a link with it
    links_seen: bool = False
    """Whether ``links`` was collected; the data-plane problems are looked for only then."""


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    subject: str
    detail: str


@dataclass
class CheckReport:
    problems: list[Problem]
    rows: list[tuple[str, ...]]
    eni_rows: list[tuple[str, ...]] = field(default_factory=list)
    """Per exclusive ENI in the cloud: id, primary IP, node (or "-" when detached), where its link is."""

    @property
    def ok(self) -> bool:
        return not self.problems


def evaluate(views: Views, *, now: float, gc_grace: float = DEFAULT_GC_GRACE) -> CheckReport:
    problems: list[Problem] = []
    holders: dict[str, list[PodView]] = {}
    for pod in views.pods:
        if pod.ip and not pod.host_network and pod.phase not in ("Succeeded", "Failed"):
            holders.setdefault(pod.ip, []).append(pod)
    for ip, pods in holders.items():
        if len(pods) > 1:
            problems.append(Problem("duplicate", ip, "held by " + ", ".join(p.key for p in pods)))
    for pod in views.pods:
        if pod.phase != "Running" or pod.host_network or not pod.ip:
            continue
        cloud = views.cloud_ips.get(pod.ip)
        instance = views.node_instances.get(pod.node, "")
        if cloud is None:
            problems.append(Problem("unrouted", pod.key, f"{pod.ip} is not assigned to any ENI in the cloud"))
        elif cloud.instance_id != instance:
            problems.append(Problem("unrouted", pod.key, f"{pod.ip} is on {cloud.eni_id} attached to "
                                    f"{cloud.instance_id or 'nothing'}, not to {pod.node} ({instance})"))
    for eni in sorted(views.cloud_secondary_enis - views.crd_enis):
        problems.append(Problem("leak", eni, "ENI exists in the cloud but no VpcENI/NodeENIConfig knows it"))
    for ip, cloud in sorted(views.cloud_ips.items()):
        if not cloud.primary and cloud.eni_id in views.cloud_secondary_enis and ip not in views.crd_ips:
            problems.append(Problem("leak", ip, f"IP assigned to {cloud.eni_id} in the cloud but in no CRD"))
    live = {p.key for p in views.pods}
    for alloc in views.allocations:
        if alloc.pod not in live and now - alloc.allocated_at > gc_grace:
            problems.append(Problem("stale", alloc.ip, f"{alloc.node}'s agent still holds it for gone pod {alloc.pod}"))
    for node in views.unreachable_agents:
        problems.append(Problem("agent", node, "the agent's API did not answer"))
    if views.links_seen:
        problems += _link_problems(views)
    return CheckReport(problems, _rows(views), _eni_rows(views))


def _link_problems(views: Views) -> list[Problem]:
    problems: list[Problem] = []
    node_of_instance = {instance: node for node, instance in views.node_instances.items()}
    running = {p.netns: p for p in views.pods if p.netns and p.phase == "Running" and not p.host_network}
    pod_netns = {p.netns: p for p in views.pods if p.netns}
    for eni in sorted(views.cloud_enis.values(), key=lambda e: e.eni_id):
        node = node_of_instance.get(eni.instance_id)
        if node is None:
            continue  # detached, or attached to an instance that is not a simulated node
        home = views.node_netns.get(node, "")
        places = views.links.get(eni.mac, [])
        here = [ns for ns in places if ns == home or (ns in pod_netns and pod_netns[ns].node == node)]
        if not here:
            problems.append(Problem("missing", eni.eni_id, f"attached to {node} in the cloud but no link with MAC "
                                    f"{eni.mac} is in its namespace or in one of its pods'"))
        for ns in places:
            if ns == home:
                continue
            pod = running.get(ns)
            if not eni.direct or pod is None or pod.ip != eni.primary_ip or pod.node != node:
                holder = pod_netns[ns].key if ns in pod_netns else "no pod"
                problems.append(Problem("stranded", eni.eni_id, f"its link is in {ns} ({holder}), which is not a "
                                        f"Running pod of {node} with {eni.primary_ip}"))
    direct_by_ip = {e.primary_ip: e for e in views.cloud_enis.values() if e.direct}
    for pod in running.values():
        held = direct_by_ip.get(pod.ip)
        if held is not None and pod.netns not in views.links.get(held.mac, []):
            problems.append(Problem("unplugged", pod.key, f"its IP {pod.ip} is the primary IP of {held.eni_id}, "
                                    f"whose link is not in the pod's namespace {pod.netns}"))
    return problems


def _rows(views: Views) -> list[tuple[str, ...]]:
    by_ip_pod = {p.ip: p for p in views.pods if p.ip and not p.host_network}
    by_ip_alloc = {a.ip: a for a in views.allocations}
    ips = sorted(set(by_ip_pod) | set(by_ip_alloc) | {ip for ip, c in views.cloud_ips.items() if not c.primary},
                 key=_ip_key)
    rows: list[tuple[str, ...]] = []
    for ip in ips:
        cloud = views.cloud_ips.get(ip)
        pod = by_ip_pod.get(ip)
        alloc = by_ip_alloc.get(ip)
        rows.append((
            ip,
            f"{cloud.eni_id}@{cloud.instance_id or '-'}" if cloud else "-",
            views.crd_ips.get(ip, "-"),
            alloc.pod if alloc else "-",
            f"{pod.key} ({pod.node}, {pod.phase})" if pod else "-",
        ))
    return rows


def _eni_rows(views: Views) -> list[tuple[str, ...]]:
    node_of_instance = {instance: node for node, instance in views.node_instances.items()}
    where_of = {ns: "node" for ns in views.node_netns.values()}
    where_of.update({p.netns: f"pod {p.key}" for p in views.pods if p.netns})
    rows: list[tuple[str, ...]] = []
    for eni in sorted((e for e in views.cloud_enis.values() if e.direct), key=lambda e: _ip_key(e.primary_ip)):
        places = views.links.get(eni.mac, [])
        where = ", ".join(where_of.get(ns, ns) for ns in places) if views.links_seen else "?"
        rows.append((eni.eni_id, eni.primary_ip, node_of_instance.get(eni.instance_id, eni.instance_id or "-"),
                     where or "-"))
    return rows


def _ip_key(ip: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in ip.split("."))
    except ValueError:
        return (999,)


# ---- collecting ---------------------------------------------------------------------------------------------

def _get_json(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the loopback emulator
        return json.loads(response.read())


def cloud_view(views: Views, snapshot: Mapping[str, Any]) -> None:
    for eni in snapshot.get("networkInterfaces") or []:
        instance = str((eni.get("Attachment") or {}).get("InstanceId") or "")
        if not eni.get("Primary"):
            views.cloud_secondary_enis.add(str(eni["NetworkInterfaceId"]))
        primary_ip = next((str(ip.get("PrivateIpAddress")) for ip in eni.get("PrivateIpAddressSet") or []
                           if ip.get("Primary")), "")
        views.cloud_enis[str(eni["NetworkInterfaceId"])] = CloudEni(
            str(eni["NetworkInterfaceId"]), str(eni.get("MacAddress") or "").lower(), instance, primary_ip,
            bool(eni.get("Primary")), direct=eni.get("AttachType") == 1)
        for ip in eni.get("PrivateIpAddressSet") or []:
            address = str(ip.get("PrivateIpAddress"))
            views.cloud_ips[address] = CloudIp(address, str(eni["NetworkInterfaceId"]), instance,
                                               bool(eni.get("Primary")) or bool(ip.get("Primary")))


def crd_view(views: Views, api: KubeApi) -> None:
    from kubernetes.client import CustomObjectsApi

    custom: Any = CustomObjectsApi(api.client)

    def items(plural: str) -> list[dict[str, Any]]:
        reply = custom.list_cluster_custom_object(GROUP, VERSION, plural, _preload_content=False,
                                                  _request_timeout=api.timeout)
        return list(json.loads(reply.data).get("items") or [])

    for veni in items("vpcenis"):
        views.crd_enis.add(str(veni["metadata"]["name"]))
    for nec in items("nodeeniconfigs"):
        for eni in (nec.get("status") or {}).get("enis") or []:
            views.crd_enis.add(str(eni.get("eniId", "")))
            views.crd_ips[str(eni.get("primaryIP", ""))] = f"nec/{nec['metadata']['name']}"
            for ip in eni.get("ips") or []:
                views.crd_ips[str(ip.get("ip"))] = f"nec/{nec['metadata']['name']}"
    for vip in items("vpcips"):
        views.crd_ips[str(vip["metadata"]["name"])] = "vip"


def pod_view(views: Views, api: KubeApi, *, names: SimNames | None = None) -> None:
    for pod in api.list_pods().get("items") or []:
        meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
        netns = names.pod(str(meta["uid"])) if names is not None and meta.get("uid") else ""
        views.pods.append(PodView(f"{meta.get('namespace')}/{meta.get('name')}", str(spec.get("nodeName") or ""),
                                  str(status.get("podIP") or ""), str(status.get("phase") or "Pending"),
                                  bool(spec.get("hostNetwork")), netns))


def link_view(views: Views, names: SimNames, nodes: list[dict[str, Any]]) -> None:
    """The ENI links of every node namespace and of every namespace of a pod in ``views.pods``."""
    views.node_netns = {str(n["name"]): str(n["netns"]) for n in nodes}
    spaces = sorted(set(views.node_netns.values()) | {p.netns for p in views.pods if p.netns})
    for netns in spaces:
        for link in eni_links(netns, router=names.router):
            views.links.setdefault(link.mac, []).append(netns)
    views.links_seen = True


def agent_view(views: Views, nodes: list[dict[str, Any]], *, timeout: float = 5.0) -> None:
    from eni.cni.client import call

    for node in nodes:
        try:
            reply = call(node["json_socket"], "Introspection/ListAllocations", {}, timeout=timeout)
        except Exception:
            views.unreachable_agents.append(str(node["name"]))
            continue
        for item in reply.get("allocations") or []:
            pod = item.get("pod") or {}
            views.allocations.append(AgentAllocation(
                str(node["name"]), f"{pod.get('namespace', '')}/{pod.get('name', '')}", str(item.get("ip", "")),
                float(item.get("allocatedAt") or 0.0)))


def collect(*, endpoint: str, api: KubeApi, nodes: list[dict[str, Any]], names: SimNames | None = None) -> Views:
    """Every view; the data plane's too when ``names`` (the cluster's namespace names) is given."""
    views = Views(node_instances={str(n["name"]): str(n["instance_id"]) for n in nodes})
    cloud_view(views, _get_json(f"http://{endpoint}/_admin/state"))
    crd_view(views, api)
    agent_view(views, nodes)
    pod_view(views, api, names=names)
    if names is not None:
        link_view(views, names, nodes)
    return views


def run_check(*, endpoint: str, api: KubeApi, nodes: list[dict[str, Any]], names: SimNames | None = None,
              gc_grace: float = DEFAULT_GC_GRACE, wait: float = 0.0, interval: float = 1.0) -> CheckReport:
    """One check, or (``wait`` > 0) checks repeated until one passes or ``wait`` seconds passed.

    Waiting lets in-flight work settle: ipamd assigns an IP in the cloud a moment before its CRDs say so.
    """
    deadline = time.monotonic() + wait
    while True:
        views = collect(endpoint=endpoint, api=api, nodes=nodes, names=names)
        report = evaluate(views, now=time.time(), gc_grace=gc_grace)
        if report.ok or time.monotonic() >= deadline:
            return report
        time.sleep(interval)
