"""Builders of the objects the extender reads, in their wire form, for tests, the benchmark and demos.

Custom resources are built through the typed classes of ``eni.api.v1`` and encoded with their own codec, so
what the extender is tested on has exactly the shape ipamd writes. ``synthetic_cluster`` lays out a large
cluster (nodes spread over zones, ENIs partly full, VpcIPs on them) deterministically. Nothing here talks to
the network.
"""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eni.api.v1 import (
    AgentStatus,
    ClaimPhase,
    DeletePolicy,
    EniIP,
    EniType,
    IPState,
    NodeENI,
    NodeENIConfig,
    NodeENIConfigSpec,
    NodeENIConfigStatus,
    ObjectMeta,
    ObjectReference,
    PodRef,
    VpcENI,
    VpcENIPhase,
    VpcENISpec,
    VpcENIStatus,
    VpcIP,
    VpcIPClaim,
    VpcIPClaimSpec,
    VpcIPClaimStatus,
    VpcIPPhase,
    VpcIPSpec,
    VpcIPStatus,
    VpcIPType,
)
from eni.api.v1.constants import (
    ANNOTATION_NETWORKS,
    ANNOTATION_NOMINATED_ENI_SUBNETS,
    ANNOTATION_NOMINATED_VPC_IP,
    ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY,
    NETWORK_DIRECT_ENI,
    NETWORK_ROUTE_ENI,
    RESOURCE_DIRECT_ENI,
    RESOURCE_ENI_IP,
)
from eni.runtime.meta import Obj

ZONE_LABEL = "topology.kubernetes.io/zone"


def node(name: str, *, zone: str = "") -> Obj:
    """A core/v1 Node with the zone label."""
    labels = {ZONE_LABEL: zone} if zone else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": {}}


@dataclass(frozen=True)
class EniLayout:
    """One route ENI of a node: its subnet (with CIDR) and the IPs on it."""

    eni_id: str
    subnet_id: str
    cidr: str
    ips: Sequence[str] = ()


@dataclass(frozen=True)
class DirectEniLayout:
    """One exclusive ENI of a node: its subnet, state, the pod it is reserved for (static mode), and whether a
    pod holds it now (the agent's inUseENIs)."""

    eni_id: str
    subnet_id: str
    cidr: str
    releasing: bool = False
    pod: tuple[str, str] | None = None
    in_use: bool = False


def nec(name: str, *, zone: str, subnets: Sequence[str], max_eni: int = 3, max_ip_per_eni: int = 9,
        enis: Sequence[EniLayout] = (), max_direct_eni: int = 0, direct: Sequence[DirectEniLayout] = ()) -> Obj:
    """A NodeENIConfig with its status listing ``enis`` (route) and ``direct`` (exclusive) ENIs."""
    route = tuple(
        NodeENI(eni_id=e.eni_id, subnet_id=e.subnet_id, subnet_cidr=e.cidr, mac=_mac(e.eni_id),
                primary_ip=str(ipaddress.IPv4Network(e.cidr).network_address + 4 + i),
                gateway=str(ipaddress.IPv4Network(e.cidr).network_address + 1),
                device_index=i + 1, ips=tuple(EniIP(ip=ip) for ip in e.ips))
        for i, e in enumerate(enis))
    exclusive = tuple(
        NodeENI(eni_id=d.eni_id, subnet_id=d.subnet_id, subnet_cidr=d.cidr, mac=_mac(d.eni_id), type=EniType.DIRECT,
                primary_ip=str(ipaddress.IPv4Network(d.cidr).network_address + 200 + i),
                gateway=str(ipaddress.IPv4Network(d.cidr).network_address + 1), device_index=len(enis) + i + 1,
                state=IPState.RELEASING if d.releasing else IPState.BOUND,
                pod=PodRef(namespace=d.pod[0], name=d.pod[1]) if d.pod else None)
        for i, d in enumerate(direct))
    agent = AgentStatus(in_use_enis=tuple(d.eni_id for d in direct if d.in_use))
    obj = NodeENIConfig(metadata=ObjectMeta(name=name),
                        spec=NodeENIConfigSpec(instance_id=f"ins-{zlib.crc32(name.encode()):08x}", zone=zone,
                                               subnet_ids=tuple(subnets), max_eni=max_eni,
                                               max_ip_per_eni=max_ip_per_eni, max_direct_eni=max_direct_eni),
                        status=NodeENIConfigStatus(enis=route + exclusive, agent=agent))
    return obj.to_dict()


def kept_eni(eni_id: str, *, subnet_id: str, pod: tuple[str, str], node_name: str = "",
             phase: VpcENIPhase | None = None) -> Obj:
    """A VpcENI of an exclusive ENI kept for the static pod ``pod`` (namespace, name); detached unless
    ``node_name`` is given."""
    spec = VpcENISpec(subnet_id=subnet_id, type=EniType.DIRECT, node_name=node_name,
                      owner_pod=ObjectReference(namespace=pod[0], name=pod[1]))
    status = VpcENIStatus(phase=phase or (VpcENIPhase.ATTACHED if node_name else VpcENIPhase.DETACHED))
    return VpcENI(metadata=ObjectMeta(name=eni_id), spec=spec, status=status).to_dict()


def _mac(eni_id: str) -> str:
    digits = f"{zlib.crc32(eni_id.encode()):08x}{len(eni_id) % 256:02x}"
    return "02:" + ":".join(digits[i:i + 2] for i in range(0, 10, 2))


def vip(ip: str, *, subnet_id: str, eni_id: str = "", node_name: str = "",
        phase: VpcIPPhase = VpcIPPhase.ASSIGNED, pod: tuple[str, str] | None = None) -> Obj:
    """A VpcIP named by its address; ``pod`` (namespace, name) makes it the IP of that pod's claim."""
    labels = {"tke.cloud.tencent.com/node-name": node_name} if node_name else {}
    spec = VpcIPSpec(subnet_id=subnet_id, eni_id=eni_id, node_name=node_name,
                     type=VpcIPType.POD if pod else VpcIPType.POOL,
                     claim_ref=ObjectReference(namespace=pod[0], name=pod[1]) if pod else None)
    return VpcIP(metadata=ObjectMeta(name=ip, labels=labels), spec=spec, status=VpcIPStatus(phase=phase)).to_dict()


def claim(namespace: str, name: str, *, ip: str = "", subnet_id: str = "", phase: ClaimPhase | None = None,
          nominated_subnets: Sequence[str] = (), policy: DeletePolicy = DeletePolicy.NEVER) -> Obj:
    """A VpcIPClaim named after its pod; with ``ip`` it is Retained unless ``phase`` says otherwise."""
    status = VpcIPClaimStatus(phase=phase or (ClaimPhase.RETAINED if ip else ClaimPhase.PENDING), ip=ip,
                              subnet_id=subnet_id)
    return VpcIPClaim(metadata=ObjectMeta(name=name, namespace=namespace),
                      spec=VpcIPClaimSpec(delete_policy=policy, nominated_subnet_ids=tuple(nominated_subnets)),
                      status=status).to_dict()


def pod(name: str, *, namespace: str = "default", eni_ip: bool = True, nominated_subnets: Sequence[str] = (),
        nominated_ip: str = "", annotations: Mapping[str, str] | None = None, direct: bool = False) -> Obj:
    """A pending Pod; with ``eni_ip`` its container requests one tke.cloud.tencent.com/eni-ip, with ``direct``
    (instead) one tke.cloud.tencent.com/direct-eni under the tke-direct-eni network."""
    eni_ip = eni_ip and not direct
    notes: dict[str, str] = {ANNOTATION_NETWORKS: NETWORK_ROUTE_ENI} if eni_ip else {}
    if direct:
        notes[ANNOTATION_NETWORKS] = NETWORK_DIRECT_ENI
    if eni_ip or direct:
        notes[ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY] = "Never"
    if nominated_subnets:
        notes[ANNOTATION_NOMINATED_ENI_SUBNETS] = ",".join(nominated_subnets)
    if nominated_ip:
        notes[ANNOTATION_NOMINATED_VPC_IP] = nominated_ip
    notes.update(annotations or {})
    resources: dict[str, Any] = {}
    if eni_ip or direct:
        resource = RESOURCE_DIRECT_ENI if direct else RESOURCE_ENI_IP
        resources = {"requests": {resource: "1"}, "limits": {resource: "1"}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}", "annotations": notes},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1", "resources": resources}]},
    }


@dataclass
class SyntheticCluster:
    """Objects of a large cluster, by kind."""

    nodes: list[Obj] = field(default_factory=list)
    necs: list[Obj] = field(default_factory=list)
    vips: list[Obj] = field(default_factory=list)
    claims: list[Obj] = field(default_factory=list)
    subnets_by_zone: dict[str, list[str]] = field(default_factory=dict)


def synthetic_cluster(*, nodes: int, vips: int, zones: int = 3, subnets_per_zone: int = 2,
                      max_eni: int = 3, max_ip_per_eni: int = 29, max_direct_eni: int = 0) -> SyntheticCluster:
    """``nodes`` nodes over ``zones`` zones, each with ENIs holding about ``vips / nodes`` IPs.

    Every subnet is a /14 (so 100,000 IPs fit); node i's ENIs are in its zone's subnets, one ENI per
    ``max_ip_per_eni`` IPs, and every fifth node has all its ENIs attached and full. With ``max_direct_eni``,
    every fourth node has one warm exclusive ENI, the one after it all its exclusive ENIs held by pods, and
    the others none attached.
    """
    cluster = SyntheticCluster()
    networks: dict[str, ipaddress.IPv4Network] = {}
    for z in range(zones):
        zone = f"ap-guangzhou-{z + 1}"
        cluster.subnets_by_zone[zone] = []
        for s in range(subnets_per_zone):
            subnet = f"subnet-z{z}s{s}"
            networks[subnet] = ipaddress.IPv4Network(f"10.{(z * subnets_per_zone + s) * 4}.0.0/14")
            cluster.subnets_by_zone[zone].append(subnet)
    cursors = {subnet: 10 for subnet in networks}
    cap = max_eni * max_ip_per_eni
    full = [i for i in range(nodes) if i % 5 == 4][: vips // max(1, cap)]
    others = nodes - len(full)
    rest = vips - len(full) * cap
    share, extra = divmod(rest, max(1, others))
    if others and share >= cap:
        raise ValueError(f"{vips} VpcIPs do not fit on {nodes} nodes of {cap} IPs")
    full_set = set(full)
    for i in range(nodes):
        zone = f"ap-guangzhou-{i % zones + 1}"
        subnets = cluster.subnets_by_zone[zone]
        name = f"node-{i:05d}"
        if i in full_set:
            want = cap
        else:
            want = share + (1 if extra > 0 else 0)
            extra -= 1
        layouts = []
        for e in range(-(-want // max_ip_per_eni)):
            subnet = subnets[(i + e) % len(subnets)]
            count = min(max_ip_per_eni, want - e * max_ip_per_eni)
            start = cursors[subnet]
            cursors[subnet] += count
            ips = [str(networks[subnet].network_address + start + k) for k in range(count)]
            layouts.append(EniLayout(eni_id=f"eni-{i:05d}{e}", subnet_id=subnet, cidr=str(networks[subnet]), ips=ips))
            cluster.vips.extend(vip(ip, subnet_id=subnet, eni_id=f"eni-{i:05d}{e}", node_name=name) for ip in ips)
        cluster.nodes.append(node(name, zone=zone))
        direct: list[DirectEniLayout] = []
        if max_direct_eni and i % 4 < 2:
            held = max_direct_eni if i % 4 == 1 else 1
            direct = [DirectEniLayout(f"eni-d{i:05d}{d}", subnets[0], str(networks[subnets[0]]), in_use=i % 4 == 1)
                      for d in range(held)]
        cluster.necs.append(nec(name, zone=zone, subnets=subnets, max_eni=max_eni, max_ip_per_eni=max_ip_per_eni,
                                enis=layouts, max_direct_eni=max_direct_eni, direct=direct))
    return cluster
