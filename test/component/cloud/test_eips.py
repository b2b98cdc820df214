"""EIP actions against the emulator: allocate (idempotent), associate, disassociate, release, errors."""

from __future__ import annotations

import pytest

from eni.cloud import errors
from eni.cloud.types import EipId, EipState, InstanceId, SubnetId

NODE = InstanceId("ins-emu00001")


def test_eip_lifecycle(vpc, emulator) -> None:
    eni = vpc.create_eni(intent="eip/eni", subnet_id=SubnetId("subnet-gz3a0001"), name="eip")
    vpc.attach_eni(eni.id, NODE)
    (ip,) = vpc.assign_private_ips(eni.id, intent="eip/ip", count=1)
    (eip,) = vpc.allocate_eips(intent="pod default/web uid-1", bandwidth=20, isp="CTCC", tags={"pod": "web"})
    assert eip.state is EipState.UNBIND and eip.bandwidth == 20 and eip.isp == "CTCC"
    assert eip.tags["tke-clusterId"] == "cls-component" and eip.tags["pod"] == "web"

    vpc.associate_eip(eip.id, eni_id=eni.id, private_ip=ip.address)
    (bound,) = vpc.describe_eips([eip.id])
    assert (bound.state, bound.eni_id, bound.private_ip) == (EipState.BIND_ENI, eni.id, ip.address)
    (seen,) = [p for p in vpc.describe_enis(eni_ids=[eni.id])[0].private_ips if p.address == ip.address]
    assert seen.eip == eip.public_ip

    with pytest.raises(errors.Conflict) as caught:
        vpc.release_eips([eip.id])
    assert caught.value.code == "InvalidAddressState"
    vpc.disassociate_eip(eip.id)
    assert vpc.describe_eips([eip.id])[0].state is EipState.UNBIND
    vpc.release_eips([eip.id])
    assert emulator.snapshot()["addresses"] == []
    assert emulator.calls.count("DescribeTaskResult") >= 4


def test_allocate_is_idempotent_per_intent(vpc, make_adapter, emulator) -> None:
    first = vpc.allocate_eips(intent="pod ns/a uid-1", count=2)
    again = make_adapter().allocate_eips(intent="pod ns/a uid-1", count=2)
    assert [e.id for e in first] == [e.id for e in again]
    assert len(emulator.snapshot()["addresses"]) == 2
    assert vpc.describe_eips(tags={"tke-clusterId": "cls-component"}) == first


def test_account_eip_quota(vpc) -> None:
    vpc.allocate_eips(intent="bulk", count=20)
    with pytest.raises(errors.QuotaExceeded) as caught:
        vpc.allocate_eips(intent="one-too-many")
    assert caught.value.code == "AddressQuotaLimitExceeded"


def test_unknown_eip(vpc) -> None:
    with pytest.raises(errors.NotFound) as caught:
        vpc.disassociate_eip(EipId("eip-zzzzzzzz"))
    assert caught.value.code == "InvalidAddressId.NotFound"
