"""The extender protocol's JSON: decoding ExtenderArgs strictly, encoding answers with the Go field names."""

import json

import pytest

from eni.scheduler import ArgsError, FilterOutcome, decode_args
from eni.scheduler.wire import error_result, filter_result, host_priorities, passthrough_result

POD = {"metadata": {"name": "p", "namespace": "default"}, "spec": {}}


def body(value):
    return json.dumps(value).encode()


def test_node_names_request():
    args = decode_args(body({"Pod": POD, "Nodes": None, "NodeNames": ["a", "b"]}))
    assert args.node_names == ("a", "b") and args.nodes is None and args.candidates == ["a", "b"]


def test_node_list_request():
    nodes = {"metadata": {}, "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]}
    args = decode_args(body({"Pod": POD, "Nodes": nodes, "NodeNames": None}))
    assert args.node_names is None and args.candidates == ["a", "b"]


def test_keys_match_case_insensitively_like_go_and_exact_keys_win():
    args = decode_args(body({"pod": POD, "nodenames": ["x"]}))
    assert args.candidates == ["x"]
    args = decode_args(body({"NodeNames": ["exact"], "nodeNames": ["other"], "Pod": POD}))
    assert args.candidates == ["exact"]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{", "the body is not JSON"),
        (b"", "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        (b"[" * 100000 + b"]" * 100000, "the body is not JSON"),
        (b"[]", "must be a JSON object"),
        (body({"NodeNames": ["a"]}), "Pod must be a Pod object"),
        (body({"Pod": "p", "NodeNames": ["a"]}), "Pod must be a Pod object"),
        (body({"Pod": POD}), "either Nodes or NodeNames"),
        (body({"Pod": POD, "NodeNames": "a,b"}), "NodeNames must be a list"),
        (body({"Pod": POD, "NodeNames": ["a", 1]}), "NodeNames must be a list"),
        (body({"Pod": POD, "Nodes": {"items": [{"metadata": {}}]}}), "Nodes must be a NodeList"),
        (body({"Pod": POD, "Nodes": ["a"]}), "Nodes must be a NodeList"),
    ],
)
def test_malformed_requests_are_refused_with_the_reason(raw, problem):
    with pytest.raises(ArgsError, match=problem):
        decode_args(raw)


def test_filter_result_names_passing_nodes_as_the_request_did():
    outcome = FilterOutcome(passed=["b"], failed={"a": "[ip-scheduler] X: y"})
    by_names = filter_result(decode_args(body({"Pod": POD, "NodeNames": ["a", "b"]})), outcome)
    assert by_names == {"Nodes": None, "NodeNames": ["b"], "FailedNodes": {"a": "[ip-scheduler] X: y"},
                        "FailedAndUnresolvableNodes": {}, "Error": ""}
    nodes = {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
             "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}, "spec": {"podCIDR": "x"}}]}
    by_list = filter_result(decode_args(body({"Pod": POD, "Nodes": nodes})), outcome)
    assert by_list["NodeNames"] is None
    assert by_list["Nodes"] == {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
                                "items": [{"metadata": {"name": "b"}, "spec": {"podCIDR": "x"}}]}


def test_passthrough_error_and_priorities():
    args = decode_args(body({"Pod": POD, "NodeNames": ["a"]}))
    assert passthrough_result(args)["NodeNames"] == ["a"]
    assert error_result("not yet") == {"Nodes": None, "NodeNames": None, "FailedNodes": {},
                                       "FailedAndUnresolvableNodes": {}, "Error": "not yet"}
    assert host_priorities([("a", 10), ("b", 0)]) == [{"Host": "a", "Score": 10}, {"Host": "b", "Score": 0}]
