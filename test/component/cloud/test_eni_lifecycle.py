"""ENI actions through the real SDK against the emulator: happy paths and exact error codes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from eni.cloud import errors
from eni.cloud.emulator import World
from eni.cloud.types import AttachType, EniState, InstanceId, SecurityGroupId, SubnetId

NODE = InstanceId("ins-emu00001")  # S5.MEDIUM4, ap-guangzhou-3: 4 ENIs x 10 IPs
OTHER_ZONE_NODE = InstanceId("ins-emu00003")
SUBNET = SubnetId("subnet-gz3a0001")
SG = SecurityGroupId("sg-emu00001")
SG2 = SecurityGroupId("sg-emu00002")


def cloud_eni(emulator, eni_id):
    return next((e for e in emulator.snapshot()["networkInterfaces"] if e["NetworkInterfaceId"] == eni_id), None)


def test_create_attach_detach_delete(vpc, emulator) -> None:
    eni = vpc.create_eni(intent="node-1/eni-a", subnet_id=SUBNET, name="eni-a", security_group_ids=[SG],
                         secondary_ip_count=3, tags={"purpose": "test"})
    assert eni.state is EniState.AVAILABLE and len(eni.secondary_ips) == 3
    raw = cloud_eni(emulator, eni.id)
    assert raw["State"] == "AVAILABLE"
    assert {t["Key"]: t["Value"] for t in raw["TagSet"]} == {
        "purpose": "test", "tke-clusterId": "cls-component", "tke-createdBy": "tke-eni-ipamd"}

    vpc.attach_eni(eni.id, NODE)
    (attached,) = [e for e in vpc.describe_enis(instance_id=NODE) if e.id == eni.id]
    assert attached.attachment is not None and attached.attachment.instance_id == NODE
    assert attached.attachment.device_index >= 1 and attached.attachment.attach_type is AttachType.STANDARD
    assert vpc.describe_enis(tags={"tke-clusterId": "cls-component"}) == (attached,)

    vpc.detach_eni(eni.id, NODE)
    assert "Attachment" not in cloud_eni(emulator, eni.id)
    assert vpc.describe_enis(eni_ids=[eni.id])[0].attachment is None
    vpc.delete_eni(eni.id)
    assert cloud_eni(emulator, eni.id) is None
    assert vpc.describe_enis(eni_ids=[eni.id]) == ()


def test_security_groups_and_attributes(vpc) -> None:
    eni = vpc.create_eni(intent="node-1/eni-sg", subnet_id=SUBNET, name="eni-sg", security_group_ids=[SG])
    vpc.associate_security_groups([eni.id], [SG2])
    assert set(vpc.describe_enis(eni_ids=[eni.id])[0].security_group_ids) == {SG, SG2}
    vpc.disassociate_security_groups([eni.id], [SG])
    assert vpc.describe_enis(eni_ids=[eni.id])[0].security_group_ids == (SG2,)
    vpc.modify_eni_attribute(eni.id, name="renamed", security_group_ids=[SG])
    (after,) = vpc.describe_enis(eni_ids=[eni.id])
    assert after.name == "renamed" and after.security_group_ids == (SG,)


def test_limits_subnets_instances(vpc, emulator) -> None:
    limits = vpc.describe_eni_limits(NODE)
    assert (limits.max_secondary_enis, limits.max_secondary_ips_per_eni) == (3, 9)
    subnets = vpc.describe_subnets(zone="ap-guangzhou-3")
    assert {s.id for s in subnets} == {"subnet-gz3a0001", "subnet-gz3b0002"}
    assert all(s.gateway.endswith(".1") for s in subnets)
    assert {s.route_table_id for s in subnets} == {emulator.world.route_table_id}
    (node,) = vpc.describe_instances([NODE])
    assert node.zone == "ap-guangzhou-3" and node.primary_eni_id is not None and node.primary_mac
    primary = cloud_eni(emulator, node.primary_eni_id)
    assert primary["Primary"] is True and primary["MacAddress"].lower() == node.primary_mac


def test_subnets_carry_their_route_table(start_emulator, adapter_for) -> None:
    default = World.default()
    own = replace(default.subnets[1], route_table_id="rtb-pods0001")
    subnets = (default.subnets[0], own, *default.subnets[2:])
    emu = start_emulator(world=replace(default, subnets=subnets, route_table_id="rtb-main0001"))
    got = {s.id: s.route_table_id for s in adapter_for(emu).describe_subnets()}
    assert got == {s.subnet_id: "rtb-pods0001" if s is own else "rtb-main0001" for s in subnets}


def test_attach_across_zones_is_a_zone_conflict(vpc) -> None:
    eni = vpc.create_eni(intent="z/eni", subnet_id=SUBNET, name="z")
    with pytest.raises(errors.Conflict) as caught:
        vpc.attach_eni(eni.id, OTHER_ZONE_NODE)
    assert caught.value.code == "UnsupportedOperation.ZoneMismatch" and caught.value.request_id


def test_attach_an_attached_eni_and_delete_an_attached_eni(vpc) -> None:
    eni = vpc.create_eni(intent="a/eni", subnet_id=SUBNET, name="a")
    vpc.attach_eni(eni.id, NODE)
    with pytest.raises(errors.Conflict) as attach:
        vpc.attach_eni(eni.id, InstanceId("ins-emu00002"))
    assert attach.value.code == "UnsupportedOperation.AttachmentAlreadyExists"
    with pytest.raises(errors.Conflict) as delete:
        vpc.delete_eni(eni.id)
    assert delete.value.code == "ResourceInUse"


def test_detach_an_unattached_eni(vpc) -> None:
    eni = vpc.create_eni(intent="d/eni", subnet_id=SUBNET, name="d")
    with pytest.raises(errors.Conflict) as caught:
        vpc.detach_eni(eni.id, NODE)
    assert caught.value.code == "UnsupportedOperation.AttachmentNotFound"


def test_eni_quota_of_the_instance(vpc) -> None:
    for i in range(3):
        eni = vpc.create_eni(intent=f"q/eni-{i}", subnet_id=SUBNET, name=f"q{i}")
        vpc.attach_eni(eni.id, NODE)
    extra = vpc.create_eni(intent="q/eni-extra", subnet_id=SUBNET, name="extra")
    with pytest.raises(errors.QuotaExceeded) as caught:
        vpc.attach_eni(extra.id, NODE)
    assert caught.value.code == "LimitExceeded"


@pytest.mark.parametrize(
    ("call", "expected", "code"),
    [
        (lambda v: v.delete_eni("eni-zzzzzzzz"), errors.NotFound, "ResourceNotFound"),
        (lambda v: v.create_eni(intent="x", subnet_id=SUBNET, name="x", security_group_ids=["sg-zzzzzzzz"]),
         errors.NotFound, "InvalidSecurityGroupID.NotFound"),
        (lambda v: v.create_eni(intent="x", subnet_id=SUBNET, name="x" * 61), errors.InvalidRequest,
         "InvalidParameterValue.TooLong"),
        (lambda v: v.describe_eni_limits("not-an-id"), errors.InvalidRequest,
         "InvalidParameterValue.InstanceIdMalformed"),
    ],
)
def test_error_codes(vpc, call, expected, code) -> None:
    with pytest.raises(expected) as caught:
        call(vpc)
    assert caught.value.code == code


def test_wrong_secret_is_auth_failure_and_not_retried(make_adapter, emulator) -> None:
    bad = make_adapter(secret_key="not-the-secret")
    before = len(emulator.calls)
    with pytest.raises(errors.AuthFailed) as caught:
        bad.describe_subnets()
    assert caught.value.code == "AuthFailure.SignatureFailure"
    assert len(emulator.calls) - before == 1


def test_unreachable_endpoint_is_unavailable(make_adapter, emulator) -> None:
    adapter = make_adapter(retry_attempts=2)
    emulator.stop()
    with pytest.raises(errors.CloudUnavailable) as caught:
        adapter.describe_subnets()
    assert caught.value.code == "ClientNetworkError"
