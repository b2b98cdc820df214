"""Annotation and label keys and their parsers: documented defaults, accepted values, clear refusals."""

from datetime import timedelta

import pytest

from eni.api.v1 import constants as c
from eni.api.v1.constants import EipAttributes, WarmTargets
from eni.api.v1.enums import DeletePolicy, Isp, NetworkName
from eni.api.v1.errors import AnnotationError

P = "tke.cloud.tencent.com/"


def test_keys_match_the_product_names():
    expected = {
        "ANNOTATION_NETWORKS": "networks",
        "ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY": "vpc-ip-claim-delete-policy",
        "ANNOTATION_CLAIM_EXPIRED_DURATION": "claim-expired-duration",
        "ANNOTATION_NOMINATED_ENI_SUBNETS": "nominated-eni-subnets",
        "ANNOTATION_NOMINATED_VPC_IP": "nominated-vpc-ip",
        "ANNOTATION_EIP_ATTRIBUTES": "eip-attributes",
        "ANNOTATION_EIP_CLAIM_DELETE_POLICY": "eip-claim-delete-policy",
        "ANNOTATION_EIP_ID_LIST": "eip-id-list",
        "ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET": "route-eni-ip-min-warm-target",
        "ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET": "route-eni-ip-max-warm-target",
        "ANNOTATION_DIRECT_ENI_MIN_WARM_TARGET": "direct-eni-min-warm-target",
        "ANNOTATION_DIRECT_ENI_MAX_WARM_TARGET": "direct-eni-max-warm-target",
        "ANNOTATION_ROUTE_ENI_MAX_ATTACH": "route-eni-max-attach",
        "ANNOTATION_MAX_IP_PER_ROUTE_ENI": "max-ip-per-route-eni",
        "ANNOTATION_DIRECT_ENI_MAX_ATTACH": "direct-eni-max-attach",
        "ANNOTATION_DISABLE_NODE_ENI_SECURITY_GROUPS": "disable-node-eni-security-groups",
        "ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM": "desired-route-eni-pod-num",
        "LABEL_ROUTE_ENI_SUBNET_IDS": "route-eni-subnet-ids",
        "LABEL_NODE_NAME": "node-name",
        "RESOURCE_ENI_IP": "eni-ip",
        "RESOURCE_DIRECT_ENI": "direct-eni",
        "RESOURCE_EIP": "eip",
    }
    assert {name: getattr(c, name) for name in expected} == {name: P + suffix for name, suffix in expected.items()}
    assert (c.NETWORK_ROUTE_ENI, c.NETWORK_DIRECT_ENI) == ("tke-route-eni", "tke-direct-eni")
    assert (c.GROUP, c.VERSION) == ("networking.tke.cloud.tencent.com", "v1")
    finalizers = [getattr(c, name) for name in dir(c) if name.startswith("FINALIZER_")]
    assert len(finalizers) == len(set(finalizers)) == 5 and all(f.startswith(P) for f in finalizers)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("tke-route-eni", NetworkName.ROUTE_ENI), (" tke-direct-eni ", NetworkName.DIRECT_ENI)],
)
def test_pod_network(value, expected):
    annotations = {} if value is None else {c.ANNOTATION_NETWORKS: value}
    assert c.parse_pod_network(annotations) == expected


@pytest.mark.parametrize(
    ("parse", "key"),
    [(c.parse_vpc_ip_claim_delete_policy, c.ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY),
     (c.parse_eip_claim_delete_policy, c.ANNOTATION_EIP_CLAIM_DELETE_POLICY)],
)
def test_delete_policies(parse, key):
    assert parse({}) is DeletePolicy.IMMEDIATE
    assert parse({key: "Never"}) is DeletePolicy.NEVER
    assert parse({key: "Immediate"}) is DeletePolicy.IMMEDIATE
    with pytest.raises(AnnotationError) as caught:
        parse({key: "never"})
    assert caught.value.key == key and "'never' is not one of Immediate, Never" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5m", timedelta(minutes=5)), ("1h", timedelta(hours=1)), ("90m", timedelta(minutes=90)),
     ("300s", timedelta(minutes=5))],
)
def test_claim_expired_duration_accepted(value, expected):
    assert c.parse_claim_expired_duration({c.ANNOTATION_CLAIM_EXPIRED_DURATION: value}) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [("4m59s", "at least 5m0s"), ("0", "at least 5m0s"), ("1 hour", "not a duration"), ("", "not a duration"),
     ("10", "not a duration")],
)
def test_claim_expired_duration_refused(value, problem):
    with pytest.raises(AnnotationError) as caught:
        c.parse_claim_expired_duration({c.ANNOTATION_CLAIM_EXPIRED_DURATION: value})
    assert caught.value.key == c.ANNOTATION_CLAIM_EXPIRED_DURATION and problem in caught.value.problem


def test_claim_expired_duration_unset():
    assert c.parse_claim_expired_duration({}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("subnet-a1", ("subnet-a1",)), ("subnet-a1,subnet-b2", ("subnet-a1", "subnet-b2")),
     (" subnet-a1 , subnet-b2 ", ("subnet-a1", "subnet-b2"))],
)
def test_nominated_subnets_accepted(value, expected):
    assert c.parse_nominated_eni_subnets({c.ANNOTATION_NOMINATED_ENI_SUBNETS: value}) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [("", "expected subnet ids"), ("subnet-a,", "expected subnet ids"), ("sub-a", "'sub-a' is not a subnet id"),
     ("subnet-a,subnet-a", "listed twice"), ("subnet-A", "is not a subnet id")],
)
def test_nominated_subnets_refused(value, problem):
    with pytest.raises(AnnotationError, match=problem):
        c.parse_nominated_eni_subnets({c.ANNOTATION_NOMINATED_ENI_SUBNETS: value})


def test_nominated_ip():
    assert c.parse_nominated_vpc_ip({}) is None
    assert c.parse_nominated_vpc_ip({c.ANNOTATION_NOMINATED_VPC_IP: " 10.0.1.5"}) == "10.0.1.5"
    for bad in ("10.0.1", "10.0.1.256", "fe80::1", "host"):
        with pytest.raises(AnnotationError, match="not an IPv4 address"):
            c.parse_nominated_vpc_ip({c.ANNOTATION_NOMINATED_VPC_IP: bad})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"Bandwidth":"100","ISP":"BGP"}', EipAttributes(100, Isp.BGP)),
        ('{"Bandwidth":"20","ISP":"CMCC"}', EipAttributes(20, Isp.CMCC)),
        ('{"Bandwidth":5}', EipAttributes(5, Isp.BGP)),
        ('{"ISP":"CUCC"}', EipAttributes(100, Isp.CUCC)),
        ('{}', EipAttributes(100, Isp.BGP)),
        ("", EipAttributes(100, Isp.BGP)),
    ],
)
def test_eip_attributes_accepted(value, expected):
    assert c.parse_eip_attributes({c.ANNOTATION_EIP_ATTRIBUTES: value}) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("{bad json", "not valid JSON"),
        ('["BGP"]', "expected a JSON object"),
        ('{"Bandwidth":"fast"}', "Bandwidth must be a whole number"),
        ('{"Bandwidth":"1.5"}', "Bandwidth must be a whole number"),
        ('{"Bandwidth":true}', "Bandwidth must be a whole number"),
        ('{"Bandwidth":"-1"}', "Bandwidth must be a whole number"),
        ('{"Bandwidth":"0"}', "at least 1 Mbps"),
        ('{"ISP":"ATT"}', "'ATT' is not one of BGP, CMCC, CTCC, CUCC"),
        ('{"ISP":1}', "ISP must be a string"),
        ('{"Isp":"BGP"}', "unknown field(s) Isp"),
    ],
)
def test_eip_attributes_refused(value, problem):
    with pytest.raises(AnnotationError) as caught:
        c.parse_eip_attributes({c.ANNOTATION_EIP_ATTRIBUTES: value})
    assert caught.value.key == c.ANNOTATION_EIP_ATTRIBUTES and problem in caught.value.problem


def test_eip_attributes_unset_means_no_eip():
    assert c.parse_eip_attributes({}) is None


def test_eip_id_list():
    assert c.parse_eip_id_list({}) == ()
    assert c.parse_eip_id_list({c.ANNOTATION_EIP_ID_LIST: "eip-1, eip-2"}) == ("eip-1", "eip-2")
    with pytest.raises(AnnotationError, match="'x' is not an EIP id"):
        c.parse_eip_id_list({c.ANNOTATION_EIP_ID_LIST: "eip-1,x"})
    with pytest.raises(AnnotationError, match="listed twice"):
        c.parse_eip_id_list({c.ANNOTATION_EIP_ID_LIST: "eip-1,eip-1"})


MIN, MAX = c.ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET, c.ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [({}, None), ({MIN: "0", MAX: "0"}, WarmTargets(0, 0)), ({MIN: "3", MAX: "10"}, WarmTargets(3, 10)),
     ({MIN: " 5", MAX: "5 "}, WarmTargets(5, 5))],
)
def test_warm_targets_accepted(annotations, expected):
    assert c.parse_route_eni_ip_warm_targets(annotations) == expected


@pytest.mark.parametrize(
    ("annotations", "key", "problem"),
    [
        ({MIN: "3"}, MAX, f"must be set together with {MIN}"),
        ({MAX: "3"}, MIN, f"must be set together with {MAX}"),
        ({MIN: "6", MAX: "5"}, MIN, f"must not exceed {MAX} (5)"),
        ({MIN: "-1", MAX: "5"}, MIN, "expected a whole number >= 0"),
        ({MIN: "1", MAX: "lots"}, MAX, "expected a whole number >= 0"),
        ({MIN: "1", MAX: "²"}, MAX, "expected a whole number >= 0"),
    ],
)
def test_warm_targets_refused(annotations, key, problem):
    with pytest.raises(AnnotationError) as caught:
        c.parse_route_eni_ip_warm_targets(annotations)
    assert caught.value.key == key and problem in caught.value.problem


def test_direct_eni_warm_targets_use_their_own_keys():
    annotations = {c.ANNOTATION_DIRECT_ENI_MIN_WARM_TARGET: "1", c.ANNOTATION_DIRECT_ENI_MAX_WARM_TARGET: "2"}
    assert c.parse_direct_eni_warm_targets(annotations) == WarmTargets(1, 2)
    assert c.parse_route_eni_ip_warm_targets(annotations) is None


@pytest.mark.parametrize(
    "key", [c.ANNOTATION_ROUTE_ENI_MAX_ATTACH, c.ANNOTATION_MAX_IP_PER_ROUTE_ENI, c.ANNOTATION_DIRECT_ENI_MAX_ATTACH]
)
def test_node_limits(key):
    assert c.parse_node_limit({}, key) is None
    assert c.parse_node_limit({key: "2"}, key) == 2
    with pytest.raises(AnnotationError) as caught:
        c.parse_node_limit({key: "two"}, key)
    assert caught.value.key == key


def test_node_annotations():
    key = c.ANNOTATION_DISABLE_NODE_ENI_SECURITY_GROUPS
    assert [c.parse_disable_node_eni_security_groups(a) for a in ({}, {key: "yes"}, {key: "No"})] == [None, True, False]
    with pytest.raises(AnnotationError, match="expected yes or no"):
        c.parse_disable_node_eni_security_groups({key: "true"})
    assert c.parse_desired_route_eni_pod_num({c.ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM: "30"}) == 30
    assert c.parse_desired_route_eni_pod_num({}) is None


def test_route_eni_subnet_label_round_trip():
    value = c.format_route_eni_subnet_ids(["subnet-b2", "subnet-a1", "subnet-b2"])
    assert value == "subnet-a1_subnet-b2"
    assert c.parse_route_eni_subnet_ids({c.LABEL_ROUTE_ENI_SUBNET_IDS: value}) == ("subnet-a1", "subnet-b2")
    assert c.parse_route_eni_subnet_ids({}) == () and c.format_route_eni_subnet_ids([]) == ""
    with pytest.raises(AnnotationError, match="63 characters"):
        c.format_route_eni_subnet_ids([f"subnet-{i:08d}" for i in range(5)])
