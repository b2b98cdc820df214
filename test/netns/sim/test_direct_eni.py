"""Exclusive (direct) ENIs in the simulated VPC: the router delivers a direct ENI's primary IP to the ENI wherever
its node end is (node or pod namespace), a later ENI never takes the name of one that is inside a pod, and the
kubelet stand-in runs CNI DEL before it deletes a pod namespace, keeps the namespace while DEL fails, and gives
an ENI the plugins left behind back to the node as the kernel gives back a physical NIC; the ledger check reads
where each ENI's link really is."""

from __future__ import annotations

import json
import logging
import secrets
import sys
import urllib.request

import pytest

from eni.cloud.types import AttachType
from eni.sim.enilinks import eni_links
from eni.sim.iproute import add_netns, ip_in, netns_exists
from eni.sim.kubelet.cni_exec import CniError, CniExecutor
from eni.sim.kubelet.sandbox import SandboxRuntime, SandboxStore
from eni.sim.ledgercheck import PodView, Views, cloud_view, evaluate, link_view
from eni.sim.probe import ping_until

ZONE_A = "ap-guangzhou-3"
SUBNET_A = "subnet-gz3a0001"

# A plugin that plays an exclusive-ENI CNI: ADD moves the node's ENI link into the pod as eth0 with the ENI's
# primary IP and a default route; DEL moves it back (unless told to forget) or fails (when told to).
PLUGIN = """#!{python} -S
import json, os, subprocess, sys
conf = json.load(sys.stdin)
cmd, pod = os.environ["CNI_COMMAND"], os.path.basename(os.environ["CNI_NETNS"])
def ip(*args):
    subprocess.run(["ip", *args], check=True, timeout=20)
if conf.get("fail") == cmd:
    print(json.dumps({{"cniVersion": "1.0.0", "code": 7, "msg": "agent unreachable"}}))
    sys.exit(1)
if cmd == "ADD":
    ip("link", "set", conf["eni"], "netns", pod)
    ip("-n", pod, "link", "set", conf["eni"], "name", "eth0")
    ip("-n", pod, "addr", "add", conf["address"], "dev", "eth0")
    ip("-n", pod, "link", "set", "eth0", "up")
    ip("-n", pod, "route", "add", "default", "via", conf["gateway"], "dev", "eth0")
    print(json.dumps({{"cniVersion": "1.0.0", "ips": [{{"address": conf["address"]}}]}}))
elif cmd == "DEL" and conf.get("giveBack", True):
    ip("-n", pod, "link", "set", "eth0", "down")
    ip("-n", pod, "addr", "flush", "dev", "eth0")
    ip("-n", pod, "link", "set", "eth0", "name", conf["eni"])
    ip("-n", pod, "link", "set", conf["eni"], "netns", conf["node"])
"""


def _direct_eni(sim_vpc, node):
    eni = sim_vpc.vpc.create_eni(intent=f"direct-{secrets.token_hex(3)}", subnet_id=SUBNET_A, name="direct")
    sim_vpc.vpc.attach_eni(eni.id, node.instance_id, attach_type=AttachType.EXTENSION)
    assert sim_vpc.emu.wait_tasks(5.0)
    (link,) = [li for li in eni_links(node.netns, router=sim_vpc.names.router) if li.mac == eni.mac.lower()]
    return eni, link.ifname


def _runtime(sim_vpc, node, tmp_path, *, eni, ifname, give_back=True, fail=""):
    bin_dir, conf_dir = tmp_path / "bin", tmp_path / "net.d"
    bin_dir.mkdir(exist_ok=True)
    conf_dir.mkdir(exist_ok=True)
    plugin = bin_dir / "direct-plugin"
    plugin.write_text(PLUGIN.format(python=sys.executable))
    plugin.chmod(0o755)
    main = {"type": "direct-plugin", "eni": ifname, "address": f"{eni.primary_ip}/24",
            "gateway": str(node.gateway), "giveBack": give_back, "node": node.netns}
    if fail:
        main["fail"] = fail
    (conf_dir / "10-direct.conflist").write_text(json.dumps({"cniVersion": "1.0.0", "name": "direct",
                                                             "plugins": [main]}))
    executor = CniExecutor(node_netns=node.netns, bin_dirs=[bin_dir])
    return SandboxRuntime(names=sim_vpc.names, store=SandboxStore(tmp_path / "sandboxes"), executor=executor,
                          conf_dir=conf_dir)


def _macs(netns, router):
    return {link.mac: link for link in eni_links(netns, router=router)}


def test_a_direct_enis_primary_ip_reaches_it_inside_a_pod_namespace(sim_vpc):
    a = sim_vpc.add_node(ZONE_A, SUBNET_A)
    b = sim_vpc.add_node(ZONE_A, SUBNET_A, instance_type="S5.LARGE8")
    eni, ifname = _direct_eni(sim_vpc, b)
    assert sim_vpc.plane.routed_ips()[eni.primary_ip] == sim_vpc.names.router_link(eni.id)

    pod = sim_vpc.names.pod(secrets.token_hex(8))
    add_netns(pod)
    ip_in(b.netns, "link", "set", ifname, "netns", pod)
    ip_in(pod, "link", "set", ifname, "name", "eth0")
    ip_in(pod, "addr", "add", f"{eni.primary_ip}/24", "dev", "eth0")
    ip_in(pod, "link", "set", "eth0", "up")
    ip_in(pod, "route", "add", "default", "via", str(b.gateway), "dev", "eth0")

    assert ping_until(a.netns, eni.primary_ip) is not None, "a VPC peer reaches the pod on its own ENI"
    assert ping_until(pod, str(a.primary_ip)) is not None, "the pod reaches a VPC peer through its gateway"
    assert ping_until(pod, str(b.primary_ip)) is not None, "and its own node, across the VPC"
    (seen,) = eni_links(pod, router=sim_vpc.names.router)
    assert (seen.ifname, seen.mac, seen.up, seen.addresses) == ("eth0", eni.mac.lower(), True,
                                                                (f"{eni.primary_ip}/24",))
    assert eni.mac.lower() not in _macs(b.netns, sim_vpc.names.router)


def test_a_new_eni_never_takes_the_name_of_one_inside_a_pod(sim_vpc):
    b = sim_vpc.add_node(ZONE_A, SUBNET_A, instance_type="S5.LARGE8")
    first, first_name = _direct_eni(sim_vpc, b)
    pod = sim_vpc.names.pod(secrets.token_hex(8))
    add_netns(pod)
    ip_in(b.netns, "link", "set", first_name, "netns", pod)
    second, second_name = _direct_eni(sim_vpc, b)
    assert (first_name, second_name) == ("eth1", "eth2")

    ip_in(pod, "link", "set", first_name, "netns", b.netns)  # the pod goes: the name it had is free for it
    assert _macs(b.netns, sim_vpc.names.router)[first.mac.lower()].ifname == "eth1"
    sim_vpc.vpc.detach_eni(first.id, b.instance_id)
    assert sim_vpc.emu.wait_tasks(5.0)
    third, third_name = _direct_eni(sim_vpc, b)
    assert third_name == "eth1", "a detached ENI's name is free again"


def test_teardown_runs_del_before_deleting_the_namespace_and_keeps_it_while_del_fails(sim_vpc, tmp_path):
    b = sim_vpc.add_node(ZONE_A, SUBNET_A, instance_type="S5.LARGE8")
    eni, ifname = _direct_eni(sim_vpc, b)
    runtime = _runtime(sim_vpc, b, tmp_path, eni=eni, ifname=ifname, fail="DEL")
    record = runtime.create(uid="uid-direct-1", namespace="default", name="direct-0")
    assert record.ip == eni.primary_ip
    assert eni.mac.lower() in _macs(record.netns, sim_vpc.names.router)

    with pytest.raises(CniError, match="agent unreachable"):
        runtime.destroy(record)
    assert netns_exists(record.netns), "the namespace (and the ENI in it) must outlive a failed DEL"
    assert eni.mac.lower() in _macs(record.netns, sim_vpc.names.router)
    assert "uid-direct-1" in runtime.store.all()

    runtime = _runtime(sim_vpc, b, tmp_path, eni=eni, ifname=ifname)  # the agent answers again
    runtime.destroy(record)
    assert not netns_exists(record.netns)
    back = _macs(b.netns, sim_vpc.names.router)[eni.mac.lower()]
    assert (back.ifname, back.up, back.addresses) == (ifname, False, ())
    assert runtime.store.all() == {}


def test_an_eni_left_in_a_pod_after_del_goes_back_to_the_node_as_a_nic_would(sim_vpc, tmp_path, caplog):
    b = sim_vpc.add_node(ZONE_A, SUBNET_A, instance_type="S5.LARGE8")
    eni, ifname = _direct_eni(sim_vpc, b)
    runtime = _runtime(sim_vpc, b, tmp_path, eni=eni, ifname=ifname, give_back=False)
    record = runtime.create(uid="uid-direct-2", namespace="default", name="direct-1")
    with caplog.at_level(logging.WARNING, logger="eni.sim.enilinks"):
        runtime.destroy(record)
    assert not netns_exists(record.netns)
    # The e2e tests look for this line to tell a DEL that left the ENI behind.
    assert [r.getMessage() for r in caplog.records if "was still in" in r.getMessage()] == [
        f"ENI link eth0 ({eni.mac.lower()}) was still in {record.netns} when it was deleted: back in {b.netns} "
        "as dev0, as a physical NIC would be"]
    back = _macs(b.netns, sim_vpc.names.router)[eni.mac.lower()]
    assert back.ifname == "dev0", "eth0 is taken in the node namespace: the kernel's devN name"
    assert not back.up and back.addresses == ()
    assert sim_vpc.plane.routed_ips()[eni.primary_ip] == sim_vpc.names.router_link(eni.id)


def test_without_a_cni_config_a_pod_namespace_is_kept(sim_vpc, tmp_path):
    b = sim_vpc.add_node(ZONE_A, SUBNET_A, instance_type="S5.LARGE8")
    eni, ifname = _direct_eni(sim_vpc, b)
    runtime = _runtime(sim_vpc, b, tmp_path, eni=eni, ifname=ifname)
    record = runtime.create(uid="uid-direct-3", namespace="default", name="direct-2")
    (tmp_path / "net.d" / "10-direct.conflist").unlink()
    with pytest.raises(CniError, match="cannot tear the network down"):
        runtime.destroy(record)
    assert netns_exists(record.netns)
    assert eni.mac.lower() in _macs(record.netns, sim_vpc.names.router)


def test_the_check_reads_where_each_eni_link_really_is(sim_vpc):
    b = sim_vpc.add_node(ZONE_A, SUBNET_A, instance_type="S5.LARGE8")
    held, held_name = _direct_eni(sim_vpc, b)
    free, _ = _direct_eni(sim_vpc, b)
    pod = sim_vpc.names.pod(secrets.token_hex(8))
    add_netns(pod)
    ip_in(b.netns, "link", "set", held_name, "netns", pod)
    nodes = [{"name": "node-b", "netns": b.netns, "instance_id": b.instance_id}]

    def views():
        found = Views(node_instances={"node-b": b.instance_id},
                      pods=[PodView("default/direct-0", "node-b", held.primary_ip, "Running", False, pod)])
        with urllib.request.urlopen(f"http://{sim_vpc.emu.endpoint}/_admin/state", timeout=10) as response:
            cloud_view(found, json.loads(response.read()))
        link_view(found, sim_vpc.names, nodes)
        return found

    seen = views()
    assert seen.cloud_enis[held.id].direct and seen.cloud_enis[free.id].direct
    assert seen.links[held.mac.lower()] == [pod] and seen.links[free.mac.lower()] == [b.netns]
    assert [(p.kind, p.subject) for p in evaluate(seen, now=0.0).problems if p.kind not in ("leak",)] == []

    ip_in(pod, "link", "set", held_name, "netns", b.netns)  # the pod runs on without its ENI
    problems = {(p.kind, p.subject) for p in evaluate(views(), now=0.0).problems}
    assert ("unplugged", "default/direct-0") in problems
    ip_in(b.netns, "link", "del", held_name)  # and the ENI's device is gone altogether
    problems = {(p.kind, p.subject) for p in evaluate(views(), now=0.0).problems}
    assert {("missing", held.id), ("unplugged", "default/direct-0")} <= problems
