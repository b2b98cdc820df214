"""FakeVpc: the in-memory VpcApi behaves like the cloud (quotas, states, codes, idempotency)."""

from __future__ import annotations

import pytest

from eni.cloud import errors
from eni.cloud.fake import FakeVpc
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import EipState, EniLimits, InstanceId, SubnetId

SUBNET = SubnetId("subnet-a")


@pytest.fixture
def fake() -> FakeVpc:
    vpc = FakeVpc()
    vpc.add_subnet("subnet-a", "10.0.1.0/28", "zone-a")
    vpc.add_subnet("subnet-b", "10.0.2.0/24", "zone-b")
    vpc.add_instance("ins-1", subnet_id="subnet-a", limits=EniLimits(eni_quantity=3, eni_private_ip_quantity=4))
    return vpc


def test_conforms_to_protocol(fake) -> None:
    _: VpcApi = fake


def test_eni_lifecycle_and_addresses(fake) -> None:
    (node,) = fake.describe_instances([InstanceId("ins-1")])
    assert node.primary_ip == "10.0.1.2"  # .1 is the gateway
    eni = fake.create_eni(intent="e1", subnet_id=SUBNET, name="e1", secondary_ip_count=2)
    assert eni.primary_ip == "10.0.1.3" and [ip.address for ip in eni.secondary_ips] == ["10.0.1.4", "10.0.1.5"]
    assert fake.create_eni(intent="e1", subnet_id=SUBNET, name="e1") == eni
    fake.attach_eni(eni.id, node.id)
    (attached,) = [e for e in fake.describe_enis(instance_id=node.id) if not e.primary]
    assert attached.attachment is not None and attached.attachment.device_index == 1
    with pytest.raises(errors.Conflict) as in_use:
        fake.delete_eni(eni.id)
    assert in_use.value.code == "ResourceInUse"
    fake.detach_eni(eni.id, node.id)
    fake.delete_eni(eni.id)
    assert fake.describe_enis(eni_ids=[eni.id]) == ()
    assert fake.describe_subnets([SUBNET])[0].available_ip_count == 16 - 3 - 1


def test_subnets_use_the_vpc_route_table_unless_given_their_own() -> None:
    vpc = FakeVpc(route_table_id="rtb-main0001")
    vpc.add_subnet("subnet-a", "10.0.1.0/24", "zone-a")
    vpc.add_subnet("subnet-b", "10.0.2.0/24", "zone-a", route_table_id="rtb-pods0001")
    assert {s.id: s.route_table_id for s in vpc.describe_subnets()} == {"subnet-a": "rtb-main0001",
                                                                      "subnet-b": "rtb-pods0001"}
    assert FakeVpc().describe_subnets() == ()


def test_ip_quota_subnet_exhaustion_and_idempotent_assign(fake) -> None:
    eni = fake.create_eni(intent="e", subnet_id=SUBNET, name="e")
    fake.attach_eni(eni.id, InstanceId("ins-1"))
    ips = fake.assign_private_ips(eni.id, intent="w", count=3)
    assert fake.assign_private_ips(eni.id, intent="w", count=3) == ips
    with pytest.raises(errors.QuotaExceeded):
        fake.assign_private_ips(eni.id, intent="w2", count=1)
    other = fake.create_eni(intent="o", subnet_id=SUBNET, name="o", secondary_ip_count=6)
    assert len(other.secondary_ips) == 6
    with pytest.raises(errors.SubnetExhausted) as caught:
        fake.create_eni(intent="p", subnet_id=SUBNET, name="p", secondary_ip_count=1)
    assert caught.value.code == "ResourceInsufficient.Subnet"


def test_zone_mismatch_and_eni_quota(fake) -> None:
    far = fake.create_eni(intent="far", subnet_id=SubnetId("subnet-b"), name="far")
    with pytest.raises(errors.Conflict) as caught:
        fake.attach_eni(far.id, InstanceId("ins-1"))
    assert caught.value.code == "UnsupportedOperation.ZoneMismatch"
    for i in range(2):
        fake.attach_eni(fake.create_eni(intent=f"n{i}", subnet_id=SUBNET, name="n").id, InstanceId("ins-1"))
    with pytest.raises(errors.QuotaExceeded):
        fake.attach_eni(fake.create_eni(intent="n3", subnet_id=SUBNET, name="n").id, InstanceId("ins-1"))


def test_unassign_is_atomic_and_migrate_moves(fake) -> None:
    a = fake.create_eni(intent="a", subnet_id=SUBNET, name="a", secondary_ip_count=2)
    b = fake.create_eni(intent="b", subnet_id=SUBNET, name="b")
    first, second = (ip.address for ip in a.secondary_ips)
    with pytest.raises(errors.NotFound):
        fake.unassign_private_ips(a.id, [first, "10.0.1.14"])
    assert len(fake.describe_enis(eni_ids=[a.id])[0].secondary_ips) == 2
    fake.migrate_private_ip(first, source_eni_id=a.id, destination_eni_id=b.id)
    fake.unassign_private_ips(a.id, [second])
    assert [ip.address for ip in fake.describe_enis(eni_ids=[b.id])[0].secondary_ips] == [first]
    assert fake.describe_enis(eni_ids=[a.id])[0].secondary_ips == ()


def test_eips(fake) -> None:
    eni = fake.create_eni(intent="e", subnet_id=SUBNET, name="e", secondary_ip_count=1)
    (ip,) = eni.secondary_ips
    (eip,) = fake.allocate_eips(intent="pod")
    fake.associate_eip(eip.id, eni_id=eni.id, private_ip=ip.address)
    assert fake.describe_eips([eip.id])[0].state is EipState.BIND_ENI
    assert fake.describe_enis(eni_ids=[eni.id])[0].secondary_ips[0].eip == eip.public_ip
    with pytest.raises(errors.Conflict):
        fake.release_eips([eip.id])
    fake.disassociate_eip(eip.id)
    fake.release_eips([eip.id])
    with pytest.raises(errors.QuotaExceeded):
        fake.allocate_eips(intent="many", count=21)


def test_interceptor_injects_errors_before_any_change(fake) -> None:
    def interceptor(method, arguments):
        if method == "assign_private_ips":
            raise errors.Throttled("RequestLimitExceeded", "injected")

    eni = fake.create_eni(intent="e", subnet_id=SUBNET, name="e")
    fake.interceptor = interceptor
    with pytest.raises(errors.Throttled):
        fake.assign_private_ips(eni.id, intent="w", count=1)
    fake.interceptor = None
    assert len(fake.assign_private_ips(eni.id, intent="w", count=1)) == 1
    assert fake.calls.count("assign_private_ips") == 2
