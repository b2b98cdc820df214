"""Exclusive ENIs (``tke.cloud.tencent.com/networks: tke-direct-eni``) on the local cluster, in both modes.

A direct-ENI pod gets a whole ENI of its own (its IP is the ENI's primary IP, the link is its eth0), reaches a
shared-ENI pod and a VPC peer; deleting it gives the link back to the node namespace (by CNI DEL, not by the
kubelet stand-in's rescue), and in non-static mode the node's warm pool of free direct ENIs returns to its
target; in static mode the ENI is deleted. An EIP asked for by a direct-ENI pod is bound to the pod's own ENI and
released with the pod. A killed and restarted agent leaves a running pod its ENI. The NEC annotations set the
node's exclusive-ENI limit (the direct-eni resource follows) and, in non-static mode only, its warm pool. Kept ENIs
of static pods: test_static.py.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import subprocess
import urllib.request

import pytest

from eni.sim.enilinks import eni_links
from eni.sim.iproute import ip_in, netns_exists
from eni.sim.lookup import (
    LookupTimeout,
    attached_to,
    cloud_enis,
    direct_eni_of_ip,
    direct_enis,
    free_direct_enis,
    in_use_enis,
    is_direct,
    node_eni_config,
)
from eni.sim.lookup import eventually as _eventually
from eni.sim.procs import kill, restart

# One cluster per module: keep a module's tests on one xdist worker (with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("e2e-direct-eni")

DIRECT = "tke-direct-eni"
WARM_TARGET = 1  # ipamd's --eni-min-warm-target / --eni-max-warm-target defaults
DIRECT_ENI_RESOURCE = "tke.cloud.tencent.com/direct-eni"
MIN_WARM = "tke.cloud.tencent.com/direct-eni-min-warm-target"
MAX_WARM = "tke.cloud.tencent.com/direct-eni-max-warm-target"
MAX_ATTACH = "tke.cloud.tencent.com/direct-eni-max-attach"
EIP_ATTRIBUTES = "tke.cloud.tencent.com/eip-attributes"
EIP_PUBLIC_IP = "tke.cloud.tencent.com/eip-public-ip"
ONE_SECOND = datetime.timedelta(seconds=1)
RESCUED = "was still in"  # what the kubelet stand-in logs when it had to pull an ENI out of a pod namespace


@pytest.fixture
def cluster(cluster_of_each_mode):
    return cluster_of_each_mode


def eventually(what, probe, *, timeout=60.0):
    try:
        return _eventually(what, probe, timeout=timeout)
    except LookupTimeout as e:
        pytest.fail(str(e))


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def node_of(cluster, name):
    return next(n for n in cluster.nodes if n["name"] == name)


def links_by_mac(cluster, netns):
    return {link.mac: link for link in eni_links(netns, router=cluster.names.router)}


def rescues(cluster):
    """Lines where a kubelet stand-in found an ENI left in a pod namespace after a successful CNI DEL."""
    found = []
    for log in sorted(cluster.state.logs.glob("kubelet-*.log")):
        found += [line for line in log.read_text(errors="replace").splitlines() if RESCUED in line]
    return found


def kubectl(cluster, *args):
    return subprocess.run(["kubectl", "--kubeconfig", cluster.summary["kubeconfig"], "--request-timeout=20s", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def cloud_addresses(endpoint):
    """The EIPs the emulator holds, as DescribeAddresses shows them."""
    with urllib.request.urlopen(f"http://{endpoint}/_admin/state", timeout=10) as response:  # noqa: S310
        return json.loads(response.read()).get("addresses") or []


def warm_pools_full(cluster):
    return all(len(free_direct_enis(node_eni_config(cluster.api, n["name"]))) >= WARM_TARGET for n in cluster.nodes)


def test_a_direct_eni_pod_owns_an_eni_reaches_its_peers_and_gives_it_back(cluster):
    static = cluster.summary["mode"] == "static"
    if not static:
        eventually(f"a warm pool of {WARM_TARGET} free direct ENI on every node", lambda: warm_pools_full(cluster))
    cluster.create("shared-0", labels={"app": "direct-peer"})
    cluster.create("direct-0", network=DIRECT, labels={"app": "direct"})
    pods = cluster.running(["shared-0", "direct-0"], timeout=90)
    pod, shared = pods["direct-0"], pods["shared-0"]
    ip, node_name = pod["status"]["podIP"], pod["spec"]["nodeName"]
    node = node_of(cluster, node_name)

    # Its own ENI: the NEC lists a direct ENI whose primary IP is the pod's IP, held (inUseENIs) by the agent.
    doc = eventually("the agent listing the pod's ENI in inUseENIs", lambda: (
        d if (d := node_eni_config(cluster.api, node_name)) and (e := direct_eni_of_ip(d, ip))
        and e["eniId"] in in_use_enis(d) else None), timeout=20)
    eni = direct_eni_of_ip(doc, ip)
    assert eni is not None
    assert not eni.get("ips"), "an exclusive ENI has no secondary IPs"
    if static:
        assert eni["pod"]["namespace"] == "default" and eni["pod"]["name"] == "direct-0"
    endpoint = cluster.summary["cloud"]["endpoint"]
    in_cloud = cloud_enis(endpoint)[eni["eniId"]]
    assert attached_to(in_cloud) == node["instance_id"]
    assert is_direct(in_cloud), "exclusive ENIs are attached as extension ENIs"
    assert in_cloud["MacAddress"].lower() == eni["mac"].lower()

    # On the node: the ENI is the pod's eth0 with its primary IP at the subnet's prefix length, default via
    # the subnet's gateway; it is no longer in the node namespace.
    pod_netns = cluster.names.pod(pod["metadata"]["uid"])
    link = links_by_mac(cluster, pod_netns).get(eni["mac"].lower())
    assert link is not None, f"the ENI's link is not in the pod's namespace {pod_netns}"
    prefix = ipaddress.IPv4Network(eni["subnetCIDR"]).prefixlen
    assert (link.ifname, link.up, link.addresses) == ("eth0", True, (f"{ip}/{prefix}",))
    default = ip_in(pod_netns, "route", "show", "default")
    assert f"default via {eni['gateway']} dev eth0" in default
    assert eni["mac"].lower() not in links_by_mac(cluster, node["netns"])

    peer = next(n for n in cluster.nodes if n["name"] != node_name)
    assert cluster.ping(pod, shared["status"]["podIP"]), "direct-ENI pod -> shared-ENI pod"
    assert cluster.ping(shared, ip), "shared-ENI pod -> direct-ENI pod"
    assert cluster.ping(pod, peer["primary_ip"]), f"direct-ENI pod -> VPC peer {peer['name']}"
    assert cluster.ping(pod, node["primary_ip"]), "direct-ENI pod -> its own node"
    result = cluster.check()
    assert result.returncode == 0, result.stdout
    if not static:
        eventually("the warm pool refilled beside the pod's ENI",
                   lambda: len(free_direct_enis(node_eni_config(cluster.api, node_name))) == WARM_TARGET)

    cluster.delete("direct-0")
    cluster.gone(["direct-0"])
    eventually("the kubelet stand-in removing the pod's namespace", lambda: not netns_exists(pod_netns),
               timeout=30)
    assert rescues(cluster) == [], "CNI DEL left the ENI in the pod namespace"
    if static:
        # No policy: the ENI goes back through the handshake, is detached and deleted.
        eventually(f"{eni['eniId']} deleted in the cloud", lambda: eni["eniId"] not in cloud_enis(endpoint))
    else:
        def given_back():
            # Back in the node namespace, down, without address, under an ethN name; unless ipamd already took
            # it back as surplus of the warm pool (detached: the link went with it).
            link = links_by_mac(cluster, node["netns"]).get(eni["mac"].lower())
            if link is not None:
                return link if not link.up and not link.addresses and link.ifname.startswith("eth") else None
            return "detached" if attached_to(cloud_enis(endpoint).get(eni["eniId"]) or {}) != node["instance_id"] \
                else None

        eventually("the ENI back in the node namespace, down and without address", given_back, timeout=20)

        def pool_at_target():
            doc = node_eni_config(cluster.api, node_name)
            attached = [e for e in cloud_enis(endpoint).values()
                        if attached_to(e) == node["instance_id"] and is_direct(e)]
            return free_direct_enis(doc) == sorted(e["eniId"] for e in direct_enis(doc)) \
                and len(attached) == len(direct_enis(doc)) == WARM_TARGET

        eventually(f"the node's warm pool back at {WARM_TARGET} free direct ENI", pool_at_target, timeout=60)
    result = cluster.check()
    assert result.returncode == 0, result.stdout
    cluster.delete("shared-0")
    cluster.gone(["shared-0"])


def test_a_direct_eni_pods_eip_is_bound_to_its_own_eni_and_released_with_it(cluster):
    endpoint = cluster.summary["cloud"]["endpoint"]
    cluster.create("gw-0", network=DIRECT, annotations={EIP_ATTRIBUTES: '{"Bandwidth":"10","ISP":"CMCC"}'})
    ip = cluster.running(["gw-0"], timeout=90)["gw-0"]["status"]["podIP"]
    pod = eventually("the pod's eip-public-ip annotation", lambda: (
        p if (p := cluster.pods().get("gw-0")) and (p["metadata"].get("annotations") or {}).get(EIP_PUBLIC_IP)
        else None), timeout=30)
    public = pod["metadata"]["annotations"][EIP_PUBLIC_IP]
    eni = direct_eni_of_ip(node_eni_config(cluster.api, pod["spec"]["nodeName"]), ip)
    assert eni is not None
    (address,) = [a for a in cloud_addresses(endpoint) if a["AddressIp"] == public]
    assert (address["NetworkInterfaceId"], address["PrivateAddressIp"]) == (eni["eniId"], ip)
    assert (address["Bandwidth"], address["InternetServiceProvider"]) == (10, "CMCC")

    cluster.delete("gw-0")
    cluster.gone(["gw-0"])
    eventually(f"the EIP {public} released", lambda: all(a["AddressIp"] != public for a in cloud_addresses(endpoint)))
    result = cluster.check()
    assert result.returncode == 0, result.stdout


@contextlib.contextmanager
def logs_on_failure(cluster, *names, lines=40):
    """Re-raise a failure with the last lines of the named components' logs appended."""
    try:
        yield
    except (AssertionError, pytest.fail.Exception) as e:
        tails = []
        for name in names:
            path = cluster.state.logs / f"{name}.log"
            text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else ["(no log)"]
            tails.append(f"--- {path.name}\n" + "\n".join(text))
        raise AssertionError(f"{e}\n" + "\n".join(tails)) from e


@pytest.mark.timeout(300)
def test_a_killed_agent_restarts_without_taking_the_eni_from_its_direct_eni_pod(cluster):
    cluster.create("keep-0", network=DIRECT)
    pod = cluster.running(["keep-0"], timeout=90)["keep-0"]
    ip, node_name = pod["status"]["podIP"], pod["spec"]["nodeName"]
    node = node_of(cluster, node_name)
    peer = next(n for n in cluster.nodes if n["name"] != node_name)
    eni = direct_eni_of_ip(node_eni_config(cluster.api, node_name), ip)
    assert eni is not None
    pod_netns = cluster.names.pod(pod["metadata"]["uid"])

    def reported_since(moment):
        """The NEC when the agent's report carries a heartbeat later than ``moment``, else None."""
        doc = node_eni_config(cluster.api, node_name)
        stamp = ((doc.get("status") or {}).get("agent") or {}).get("heartbeatTime")
        return doc if stamp and datetime.datetime.fromisoformat(stamp) > moment else None

    assert kill(cluster.state, f"agent-{node_name}")
    # Heartbeats have whole seconds: a restart in the second the killed agent last reported (or in which a report
    # it sent was still in flight) could publish an equal stamp. Restarting in a later second makes any stamp past
    # this one the restarted agent's.
    died = utc_now().replace(microsecond=0)
    with logs_on_failure(cluster, f"agent-{node_name}", f"kubelet-{node_name}"):
        assert cluster.ping(pod, peer["primary_ip"]), "the pod keeps its ENI's network while the agent is down"
        eventually("the clock past the second the agent died in", lambda: utc_now() - died >= ONE_SECOND,
                   timeout=5)
        restart(cluster.state, f"agent-{node_name}")
        eventually("the restarted agent reporting the pod's ENI in use again", lambda: (
            (doc := reported_since(died)) is not None and eni["eniId"] in in_use_enis(doc)))
        link = links_by_mac(cluster, pod_netns).get(eni["mac"].lower())
        assert link is not None and link.ifname == "eth0" and link.up, "the restarted agent took the pod's ENI"
        assert cluster.ping(pod, peer["primary_ip"])
        assert eni["eniId"] not in free_direct_enis(node_eni_config(cluster.api, node_name))
        assert eni["mac"].lower() not in links_by_mac(cluster, node["netns"])
        result = cluster.check()
        assert result.returncode == 0, result.stdout
        cluster.delete("keep-0")
        cluster.gone(["keep-0"])
        eventually("the kubelet stand-in removing the pod's namespace", lambda: not netns_exists(pod_netns),
                   timeout=30)
        assert rescues(cluster) == [], "CNI DEL left the ENI in the pod namespace"


def test_nec_annotations_shape_a_nodes_exclusive_enis(cluster):
    static = cluster.summary["mode"] == "static"
    endpoint = cluster.summary["cloud"]["endpoint"]
    node = cluster.nodes[-1]
    name = node["name"]

    def direct_resource():
        status = cluster.api.get_node(name).get("status") or {}
        return (int((status.get("capacity") or {}).get(DIRECT_ENI_RESOURCE, "0")),
                int((status.get("allocatable") or {}).get(DIRECT_ENI_RESOURCE, "0")))

    def attached():
        return sorted(e["NetworkInterfaceId"] for e in cloud_enis(endpoint).values()
                      if attached_to(e) == node["instance_id"] and is_direct(e))

    quota = eventually("the node's direct-eni capacity", lambda: direct_resource()[0])
    annotate = {MIN_WARM: "2", MAX_WARM: "2", MAX_ATTACH: "3"}
    assert kubectl(cluster, "annotate", "nec", name, *[f"{k}={v}" for k, v in annotate.items()]).returncode == 0
    try:
        eventually("direct-eni capacity lowered to 3 by direct-eni-max-attach", lambda: direct_resource()[0] == 3)
        if static:
            # No warm pool in static-IP mode: ENIs come only for pods.
            assert direct_resource() == (3, 3) and attached() == []
        else:
            eventually("a warm pool of 2 free direct ENIs", lambda: (
                len(free_direct_enis(node_eni_config(cluster.api, name))) == 2 and len(attached()) == 2
                and direct_resource() == (3, 2)))
    finally:
        assert kubectl(cluster, "annotate", "nec", name, *[f"{k}-" for k in annotate]).returncode == 0
    eventually("the node's limits and pool back to the defaults", lambda: direct_resource()[0] == quota and (
        static or (len(attached()) == WARM_TARGET and direct_resource() == (quota, WARM_TARGET))), timeout=60)
