"""The remaining error paths, each with the exact Tencent code and the typed error it becomes."""

from __future__ import annotations

import pytest

from eni.cloud import errors
from eni.cloud.types import EipId, EniId, InstanceId, SecurityGroupId, SubnetId

NODE = InstanceId("ins-emu00002")
SUBNET_A, SUBNET_B = SubnetId("subnet-gz3a0001"), SubnetId("subnet-gz3b0002")


@pytest.fixture
def world(vpc):
    """Two attached ENIs in different subnets of one zone, one secondary IP on the first."""
    a = vpc.create_eni(intent="paths/a", subnet_id=SUBNET_A, name="a")
    b = vpc.create_eni(intent="paths/b", subnet_id=SUBNET_B, name="b")
    vpc.attach_eni(a.id, NODE)
    vpc.attach_eni(b.id, NODE)
    (ip,) = vpc.assign_private_ips(a.id, intent="paths/ip", count=1)
    return {"a": a, "b": b, "ip": ip.address}


CASES = [
    ("migrate across subnets", lambda v, w: v.migrate_private_ip(w["ip"], source_eni_id=w["a"].id,
                                                                 destination_eni_id=w["b"].id),
     errors.InvalidRequest, "InvalidParameterValue.SubnetConflict"),
    ("unassign the primary IP", lambda v, w: v.unassign_private_ips(w["a"].id, [w["a"].primary_ip]),
     errors.InvalidRequest, "InvalidParameterValue.Reserved"),
    ("assign outside the subnet", lambda v, w: v.assign_private_ips(w["a"].id, intent="x", addresses=["10.0.2.50"]),
     errors.InvalidRequest, "InvalidParameterValue.Range"),
    ("unknown security group", lambda v, w: v.associate_security_groups([w["a"].id], [SecurityGroupId("sg-zzzzzzzz")]),
     errors.NotFound, "InvalidSecurityGroupID.NotFound"),
    ("modify an unknown ENI", lambda v, w: v.modify_eni_attribute(EniId("eni-zzzzzzzz"), name="n"),
     errors.NotFound, "ResourceNotFound"),
    ("EIP on an IP the ENI lacks", lambda v, w: v.associate_eip(v.allocate_eips(intent="e")[0].id, eni_id=w["a"].id,
                                                               private_ip="10.0.1.250"),
     errors.InvalidRequest, "InvalidParameterValue.PrivateIpAddressNotMatch"),
    ("disassociate an unbound EIP", lambda v, w: v.disassociate_eip(v.allocate_eips(intent="u")[0].id),
     errors.Conflict, "InvalidAddressState"),
    ("release an unknown EIP", lambda v, w: v.release_eips([EipId("eip-zzzzzzzz")]),
     errors.NotFound, "InvalidAddressId.NotFound"),
    ("malformed instance id", lambda v, w: v.describe_instances([InstanceId("bogus")]),
     errors.InvalidRequest, "InvalidInstanceId.Malformed"),
    ("detach the primary ENI", lambda v, w: v.detach_eni(v.describe_instances([NODE])[0].primary_eni_id, NODE),
     errors.Conflict, "UnsupportedOperation.InvalidState"),
]


@pytest.mark.parametrize(("call", "expected", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_path(vpc, world, emulator, call, expected, code) -> None:
    before = emulator.snapshot()["networkInterfaces"]
    with pytest.raises(expected) as caught:
        call(vpc, world)
    assert caught.value.code == code and caught.value.request_id
    assert emulator.snapshot()["networkInterfaces"] == before  # a refused call changes nothing
