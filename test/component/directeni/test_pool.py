"""Non-static mode: each node's warm pool of free exclusive ENIs, sized by the flags and the NEC annotations,
capped by maxDirectENI, shrunk only through the agent's releasedENIs."""

from __future__ import annotations

from eni.api.v1 import NODE_ENI_CONFIG, VPC_ENI, EniType, IPState
from eni.api.v1.constants import (
    ANNOTATION_DIRECT_ENI_MAX_ATTACH,
    ANNOTATION_DIRECT_ENI_MAX_WARM_TARGET,
    ANNOTATION_DIRECT_ENI_MIN_WARM_TARGET,
    WarmTargets,
)
from eni.runtime.meta import NODE, ObjectKey
from eni.runtime.reconcile import Request


def warm(cluster, node: str, low: str | None, high: str | None) -> None:
    annotate(cluster, node, {ANNOTATION_DIRECT_ENI_MIN_WARM_TARGET: low, ANNOTATION_DIRECT_ENI_MAX_WARM_TARGET: high})


def annotate(cluster, node: str, annotations: dict[str, str | None]) -> None:
    """Annotate the node's NEC (made by a first reconcile if it has none yet)."""
    if not cluster.client.list(NODE_ENI_CONFIG, field_selector=f"metadata.name={node}"):
        cluster.nodes.reconcile(Request(namespace="", name=node))
    cluster.client.patch(NODE_ENI_CONFIG, ObjectKey("", node), {"metadata": {"annotations": annotations}})


def test_the_flags_keep_one_free_exclusive_eni_published_as_direct(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    direct = cluster.direct("node-1")
    assert len(direct) == 1
    entry = direct[0]
    assert entry.state is IPState.BOUND and entry.pod is None and entry.ips == ()
    cidr = {"subnet-gz3a0001": "10.0.1.0/24", "subnet-gz3b0002": "10.0.2.0/24"}[entry.subnet_id]  # node's zone
    assert entry.mac and entry.primary_ip and entry.subnet_cidr == cidr and entry.gateway == cidr[:-4] + "1"
    assert entry.device_index > 0
    assert cluster.cloud_direct("node-1") == [entry.eni_id]  # attached as an extension ENI
    record = cluster.veni(entry.eni_id)
    assert record is not None and record.spec.type is EniType.DIRECT and record.spec.node_name == "node-1"
    assert record.spec.owner_pod is None
    assert cluster.nec("node-1").spec.max_direct_eni == 4
    # S5.LARGE8: 4 standard ENIs x 10 IPs and 4 extension ENIs x 10 IPs, less the node's own primary IP
    assert cluster.nec("node-1").spec.eip_quota == 4 * 10 + 4 * 10 - 1
    assert cluster.events("ENICreated")


def test_pods_taking_enis_are_replaced_to_keep_the_minimum(make_cluster):
    cluster = make_cluster(eni_warm=WarmTargets(min=1, max=2))
    cluster.add_node("node-1")
    cluster.converge()
    cluster.agents["node-1"].want = 2
    cluster.converge()
    assert len(cluster.agents["node-1"].holding) == 2
    assert len(cluster.free("node-1")) == 1 and len(cluster.direct("node-1")) == 3
    assert cluster.nec("node-1").status.agent.in_use_enis == tuple(sorted(cluster.agents["node-1"].holding))
    sample = cluster.metrics.registry.get_sample_value
    assert sample("tke_eni_node_direct_enis", {"node": "node-1", "state": "Bound"}) == 3
    assert sample("tke_eni_node_used_direct_enis", {"node": "node-1"}) == 2
    assert not cluster.violations


def test_growth_stops_at_max_direct_eni_with_a_warning_and_a_condition(make_cluster):
    cluster = make_cluster(eni_warm=WarmTargets(min=2, max=2))
    cluster.add_node("node-1")  # S5.LARGE8: 4 exclusive ENIs
    cluster.agents["node-1"].want = 3
    cluster.converge()
    assert len(cluster.direct("node-1")) == 4 and len(cluster.free("node-1")) == 1
    assert len(cluster.cloud_direct("node-1")) == 4
    conditions = {c.type: c for c in cluster.nec("node-1").status.conditions}
    assert "exclusive ENIs" in conditions["ENILimitReached"].message
    assert any("maxDirectENI" in e["message"] for e in cluster.events("ENILimit"))
    calls = cluster.emulator.calls.count("CreateNetworkInterface") + cluster.emulator.calls.count(
        "AttachNetworkInterface")
    cluster.step()
    cluster.step()
    assert cluster.emulator.calls.count("CreateNetworkInterface") + cluster.emulator.calls.count(
        "AttachNetworkInterface") == calls  # no retry storm
    assert not cluster.violations


def test_the_max_attach_annotation_lowers_the_cap(make_cluster):
    cluster = make_cluster(eni_warm=WarmTargets(min=3, max=3))
    cluster.add_node("node-1")
    cluster.converge()
    assert len(cluster.direct("node-1")) == 3
    annotate(cluster, "node-1", {ANNOTATION_DIRECT_ENI_MAX_ATTACH: "1"})
    cluster.converge()
    assert cluster.nec("node-1").spec.max_direct_eni == 1
    assert len(cluster.direct("node-1")) == 1 and len(cluster.cloud_direct("node-1")) == 1


def test_the_max_attach_annotation_cannot_go_below_what_pods_hold(make_cluster):
    cluster = make_cluster(eni_warm=WarmTargets(min=0, max=0))
    cluster.add_node("node-1")
    warm(cluster, "node-1", "2", "2")
    cluster.converge()
    cluster.agents["node-1"].want = 2
    cluster.converge()
    annotate(cluster, "node-1", {ANNOTATION_DIRECT_ENI_MAX_ATTACH: "1"})
    cluster.converge()
    assert cluster.nec("node-1").spec.max_direct_eni == 4  # refused: the previous value stays
    assert any(ANNOTATION_DIRECT_ENI_MAX_ATTACH in e["message"] for e in cluster.events("InvalidAnnotation"))
    assert len(cluster.agents["node-1"].holding) == 2


def test_the_nec_annotations_override_the_flags(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-2")
    warm(cluster, "node-2", "3", "4")
    cluster.converge()
    assert len(cluster.free("node-2")) == 3


def test_bad_annotations_warn_and_keep_the_previous_targets(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    warm(cluster, "node-1", "2", "2")
    cluster.converge()
    assert len(cluster.free("node-1")) == 2
    warm(cluster, "node-1", "3", "x")
    cluster.converge()
    assert len(cluster.free("node-1")) == 2
    warnings = [e for e in cluster.events("InvalidAnnotation")
                if ANNOTATION_DIRECT_ENI_MAX_WARM_TARGET in e["message"]]
    assert len(warnings) == 1 and warnings[0]["type"] == "Warning"
    warm(cluster, "node-1", "3", None)
    cluster.converge()
    assert len(cluster.free("node-1")) == 2
    assert any("must be set together" in e["message"] for e in cluster.events("InvalidAnnotation"))


def test_shrinks_only_after_the_agent_lists_the_eni_released(make_cluster):
    cluster = make_cluster(eni_warm=WarmTargets(min=3, max=3))
    cluster.add_node("node-1")
    cluster.converge()
    before = {e.eni_id for e in cluster.direct("node-1")}
    warm(cluster, "node-1", "1", "1")
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))  # ipamd's side only: no agent step
    releasing = {e.eni_id for e in cluster.direct("node-1", IPState.RELEASING)}
    assert len(releasing) == 2
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    assert set(cluster.cloud_direct("node-1")) == before  # nothing detached before the agent says so
    cluster.converge()
    assert {e.eni_id for e in cluster.direct("node-1")} == before - releasing
    for eni_id in releasing:
        assert cluster.cloud_eni(eni_id) is None and cluster.veni(eni_id) is None
    assert cluster.events("ENIDeleted")


def test_an_eni_a_pod_holds_is_never_released(make_cluster):
    cluster = make_cluster(eni_warm=WarmTargets(min=0, max=0))
    cluster.add_node("node-1")
    warm(cluster, "node-1", "2", "2")
    cluster.converge()
    cluster.agents["node-1"].want = 2
    cluster.converge()
    held = set(cluster.agents["node-1"].holding)
    warm(cluster, "node-1", None, None)
    cluster.converge()
    assert {e.eni_id for e in cluster.direct("node-1")} == held
    assert not cluster.direct("node-1", IPState.RELEASING)
    cluster.agents["node-1"].want = 0
    cluster.converge()
    assert cluster.direct("node-1") == [] and cluster.cloud_direct("node-1") == []
    assert not cluster.violations


def test_a_node_without_exclusive_enis_in_its_quota_takes_no_part(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    annotate(cluster, "node-1", {ANNOTATION_DIRECT_ENI_MAX_ATTACH: "0"})
    cluster.converge()
    assert cluster.nec("node-1").spec.max_direct_eni == 0
    assert cluster.direct("node-1") == [] and cluster.nec("node-1").status.conditions == ()
    assert not cluster.events("ENILimit")


def test_security_groups_apply_to_exclusive_enis(make_cluster):
    cluster = make_cluster(security_groups_enabled=True, security_group_ids=("sg-emu00002", "sg-emu00001"))
    cluster.add_node("node-1")
    cluster.converge()
    eni_id = cluster.direct("node-1")[0].eni_id
    groups = cluster.cloud_eni(eni_id)["GroupSet"]
    assert groups == ["sg-emu00002", "sg-emu00001"]
    cluster.client.patch(NODE, ObjectKey("", "node-1"), {"metadata": {"annotations": {
        "tke.cloud.tencent.com/disable-node-eni-security-groups": "yes"}}})
    cluster.converge()
    assert cluster.cloud_eni(eni_id)["GroupSet"] == []
    cluster.client.patch(NODE, ObjectKey("", "node-1"), {"metadata": {"annotations": {
        "tke.cloud.tencent.com/disable-node-eni-security-groups": "no"}}})
    cluster.converge()
    assert cluster.cloud_eni(eni_id)["GroupSet"] == ["sg-emu00002", "sg-emu00001"]


def test_node_removal_deletes_its_exclusive_enis(make_cluster):
    cluster = make_cluster(eni_warm=WarmTargets(min=2, max=2))
    cluster.add_node("node-1")
    cluster.converge()
    enis = [e.eni_id for e in cluster.direct("node-1")]
    cluster.client.delete(NODE, ObjectKey("", "node-1"))
    cluster.converge()
    for eni_id in enis:
        assert cluster.cloud_eni(eni_id) is None and cluster.veni(eni_id) is None
    assert cluster.client.list(VPC_ENI) == []


def test_a_leaked_exclusive_eni_is_collected_and_a_recorded_one_is_not(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    kept = cluster.direct("node-1")[0].eni_id
    leaked = cluster.vpc.create_eni(intent="leak-1", subnet_id="subnet-gz3a0001", name="leak",  # type: ignore[arg-type]
                                    tags={"tke-eni-node": "node-1"})
    report = cluster.collect_garbage()
    assert leaked.id in report.deleted_enis and cluster.cloud_eni(leaked.id) is None
    assert cluster.cloud_eni(kept) is not None


def test_deleting_a_pool_enis_veni_gives_it_back_and_a_new_one_takes_its_place(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    old = cluster.direct("node-1")[0].eni_id
    cluster.client.delete(VPC_ENI, ObjectKey("", old))
    cluster.converge()
    assert cluster.cloud_eni(old) is None and cluster.veni(old) is None
    now = cluster.direct("node-1")
    assert len(now) == 1 and now[0].eni_id != old and now[0].state is IPState.BOUND


def test_a_restart_resumes_an_exclusive_eni_whose_attach_was_interrupted(make_cluster):
    from eni.api.v1 import VpcENIPhase

    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    eni_id = cluster.direct("node-1")[0].eni_id
    cluster.vpc.detach_eni(eni_id, "ins-emu00001")  # type: ignore[arg-type]
    cluster.client.patch(VPC_ENI, ObjectKey("", eni_id), {"status": {"phase": "Attaching"}}, subresource="status")
    cluster.restart()
    cluster.converge()
    assert cluster.cloud_direct("node-1") == [eni_id]  # attached again, as an extension ENI
    assert cluster.veni(eni_id).status.phase is VpcENIPhase.ATTACHED


def test_shared_and_exclusive_enis_live_side_by_side_in_one_status(make_cluster):
    cluster = make_cluster(ip_warm=WarmTargets(min=5, max=5))
    cluster.add_node("node-2")
    cluster.converge()
    enis = cluster.nec("node-2").status.enis
    assert sorted(e.type.value for e in enis) == ["direct", "route"]
    shared = next(e for e in enis if e.type is EniType.ROUTE)
    direct = next(e for e in enis if e.type is EniType.DIRECT)
    assert len(shared.ips) == 5 and direct.ips == ()
    assert [e.device_index for e in enis] == sorted(e.device_index for e in enis)
    assert cluster.cloud_direct("node-2") == [direct.eni_id]  # the shared ENI is attached as a standard one
    assert cluster.cloud_eni(shared.eni_id)["AttachType"] == 0
    assert cluster.nec("node-2").status.ip_count == 5


def test_with_the_node_condition_flag_the_node_shows_the_exclusive_eni_limit(make_cluster):
    cluster = make_cluster(eni_warm=WarmTargets(min=5, max=5), node_condition=True)
    cluster.add_node("node-1")  # 4 exclusive ENIs at most
    cluster.converge()
    node = cluster.client.get(NODE, ObjectKey("", "node-1"))
    condition = next(c for c in node["status"]["conditions"] if c["type"] == "ENILimitReached")
    assert condition["status"] == "True" and "exclusive ENIs" in condition["message"]


def test_an_attach_the_instance_refuses_leaves_nothing_behind_and_no_retry_storm(make_cluster):
    from eni.cloud.types import AttachType

    cluster = make_cluster()
    cluster.add_node("node-1")
    for i in range(4):  # someone else's extension ENIs fill the instance's ExtendEniQuantity
        foreign = cluster.vpc.create_eni(intent=f"foreign-{i}", subnet_id="subnet-gz3a0001",  # type: ignore[arg-type]
                                         name=f"foreign-{i}")
        cluster.vpc.attach_eni(foreign.id, "ins-emu00001", attach_type=AttachType.EXTENSION)  # type: ignore[arg-type]
    cluster.converge()
    assert cluster.direct("node-1") == [] and cluster.client.list(VPC_ENI) == []
    assert len(cluster.cloud_direct("node-1")) == 4  # only the foreign ones; the refused ENI was deleted
    assert any("refused" in e["message"] for e in cluster.events("ENILimit"))
    creates = cluster.emulator.calls.count("CreateNetworkInterface")
    for _ in range(3):
        cluster.step()
    assert cluster.emulator.calls.count("CreateNetworkInterface") == creates
