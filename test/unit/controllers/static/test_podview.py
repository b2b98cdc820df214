"""Which pods need a claimed IP, and what their annotations ask for."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eni.api.v1 import DeletePolicy, EniIP, IPState, NodeENI, NodeENIConfigStatus, PodRef
from eni.api.v1.constants import RESOURCE_ENI_IP
from eni.api.v1.errors import AnnotationError
from eni.controllers.static.podview import StaticRequest, is_live, parse_static_request, wants_static_ip

P = "tke.cloud.tencent.com/"


def pod(*, annotations=None, resource=RESOURCE_ENI_IP, host_network=False, phase="Running"):
    return {"metadata": {"name": "p", "namespace": "ns", "annotations": annotations or {}},
            "spec": {"hostNetwork": host_network, "containers": [{"resources": {"limits": {resource: "1"}}}]},
            "status": {"phase": phase}}


def test_only_shared_eni_pods_that_request_an_eni_ip_need_a_claim():
    assert wants_static_ip(pod())
    assert wants_static_ip(pod(annotations={P + "networks": "tke-route-eni"}))
    assert not wants_static_ip(pod(annotations={P + "networks": "tke-direct-eni"}))
    assert not wants_static_ip(pod(annotations={P + "networks": "something-else"}))
    assert not wants_static_ip(pod(resource="cpu"))
    assert not wants_static_ip(pod(host_network=True))


def test_terminated_pods_hold_no_ip():
    assert is_live(pod()) and is_live(pod(phase="Pending"))
    assert not is_live(pod(phase="Succeeded")) and not is_live(pod(phase="Failed"))


def test_annotations_become_a_request():
    assert parse_static_request({}) == StaticRequest()
    request = parse_static_request({P + "vpc-ip-claim-delete-policy": "Never", P + "claim-expired-duration": "1h",
                                    P + "nominated-eni-subnets": "subnet-a1, subnet-b2",
                                    P + "nominated-vpc-ip": " 10.0.1.7 "})
    assert request == StaticRequest(delete_policy=DeletePolicy.NEVER, expired_duration=timedelta(hours=1),
                                    nominated_subnet_ids=("subnet-a1", "subnet-b2"), nominated_ip="10.0.1.7")


@pytest.mark.parametrize(("key", "value"), [("vpc-ip-claim-delete-policy", "Sometimes"),
                                            ("claim-expired-duration", "4m"), ("nominated-eni-subnets", "vpc-1"),
                                            ("nominated-vpc-ip", "10.0.1")])
def test_a_bad_annotation_names_its_key(key, value):
    with pytest.raises(AnnotationError) as caught:
        parse_static_request({P + key: value})
    assert key in str(caught.value)


def test_the_nec_names_the_pod_of_a_static_ip_and_leaves_pool_ips_unmarked():
    status = NodeENIConfigStatus(enis=(NodeENI(eni_id="eni-1", ips=(
        EniIP(ip="10.0.1.5", pod=PodRef(namespace="ns", name="db-0", uid="u1")),
        EniIP(ip="10.0.1.6", state=IPState.RELEASING))),))
    from eni.api.v1.codec import decode, encode

    body = encode(status)
    assert body["enis"][0]["ips"] == [{"ip": "10.0.1.5", "state": "Bound",
                                       "pod": {"namespace": "ns", "name": "db-0", "uid": "u1"}},
                                      {"ip": "10.0.1.6", "state": "Releasing"}]
    assert decode(NodeENIConfigStatus, body, kind="NodeENIConfig") == status
