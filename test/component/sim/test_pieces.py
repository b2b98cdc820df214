"""Names, CNI config loading and error decoding, latency distribution, node and pod objects."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from eni.sim.kubelet.cni_exec import CniConfigError, CniExecutor, RuntimeConf, _error_of, load_network_list
from eni.sim.kubelet.latency import Distribution, LatencyLog, read_latencies
from eni.sim.kubelet.objects import NodeSpec, extended_requests, node_object, node_status, running_status
from eni.sim.names import SimNames, new_prefix


def test_names_carry_the_prefix_and_fit_the_kernel_limits():
    names = SimNames("tkesim-00aa11")
    assert names.owns(names.router) and names.owns(names.node("ins-abcd1234")) and names.owns(names.pod("a-b-c"))
    assert not names.owns(SimNames("tkesim-00aa12").router)
    assert new_prefix() != new_prefix()
    assert len(SimNames.router_link("eni-abcd1234")) <= 15
    with pytest.raises(ValueError):
        SimNames("kube-system")
    with pytest.raises(ValueError):
        SimNames.router_link("ins-abcd1234")


def test_the_first_config_by_name_wins_and_a_single_conf_becomes_a_list(tmp_path):
    (tmp_path / "20-other.conflist").write_text(json.dumps({"cniVersion": "1.0.0", "name": "b",
                                                            "plugins": [{"type": "x"}]}))
    (tmp_path / "10-tke.conf").write_text(json.dumps({"cniVersion": "0.4.0", "name": "a", "type": "tke-route-eni",
                                                      "agentSocket": "/s"}))
    (tmp_path / "05-broken.conflist").write_text("{not json")
    net = load_network_list(tmp_path)
    assert (net.name, net.cni_version, net.plugins) == ("a", "0.4.0", ({"type": "tke-route-eni",
                                                                        "agentSocket": "/s"},))


def test_an_empty_config_dir_is_a_clear_error(tmp_path):
    with pytest.raises(CniConfigError, match="no network configuration"):
        load_network_list(tmp_path)


def test_plugin_errors_keep_the_cni_code_and_message():
    err = _error_of("tke-route-eni", "ADD", json.dumps({"code": 11, "msg": "no free IP", "details": "pool empty"}), "")
    assert (err.code, err.msg, err.details) == (11, "no free IP", "pool empty")
    assert "tke-route-eni" in str(err) and "(add)" in str(err)
    assert _error_of("p", "DEL", "garbage", "boom").msg == "boom"


def test_cni_args_carry_the_kubernetes_pod_identity():
    rt = RuntimeConf(container_id="c1", netns="/run/netns/x", args=(("K8S_POD_NAMESPACE", "default"),
                                                                    ("K8S_POD_NAME", "web-0")))
    assert rt.cni_args() == "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0"


def test_the_executor_refuses_to_run_outside_a_node_namespace():
    with pytest.raises(ValueError):
        CniExecutor(node_netns="", bin_dirs=[])


def test_latency_log_round_trip_and_distribution(tmp_path):
    log = LatencyLog(tmp_path / "n1.log")
    for ms in (10, 20, 30, 40, 100):
        log.record(ms / 1000)
    (tmp_path / "n2.log").write_text("5.0\nnot-a-number\n")
    values = read_latencies([tmp_path / "n1.log", tmp_path / "n2.log", tmp_path / "missing.log"])
    assert sorted(values) == [5.0, 10.0, 20.0, 30.0, 40.0, 100.0]
    dist = Distribution.of(values)
    assert (dist.count, dist.p50, dist.max) == (6, 25.0, 100.0)
    assert Distribution.of([]).count == 0


def test_node_objects_carry_zone_instance_type_provider_id_and_extended_resources():
    spec = NodeSpec(name="node-1", instance_id="ins-abcd1234", zone="ap-guangzhou-3", region="ap-guangzhou",
                    instance_type="S5.MEDIUM4", primary_ip="10.0.1.5")
    node = node_object(spec)
    assert node["spec"]["providerID"] == "qcloud:///ap-guangzhou-3/ins-abcd1234"
    assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "ap-guangzhou-3"
    assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "S5.MEDIUM4"
    status = node_status(spec, {"tke.cloud.tencent.com/eni-ip": (12, 9)}, now=datetime.now(timezone.utc))
    assert status["capacity"]["tke.cloud.tencent.com/eni-ip"] == "12"
    assert status["allocatable"]["tke.cloud.tencent.com/eni-ip"] == "9"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"


def test_running_status_and_extended_requests():
    pod = {"spec": {"containers": [
        {"name": "a", "resources": {"requests": {"tke.cloud.tencent.com/eni-ip": "1", "cpu": "1"}}},
        {"name": "b", "resources": {"limits": {"tke.cloud.tencent.com/eni-ip": "1"}}}]}}
    assert extended_requests(pod) == {"tke.cloud.tencent.com/eni-ip": 2}
    status = running_status(pod, pod_ip="10.0.2.4", host_ip="10.0.1.5", container_id="f" * 64,
                            now=datetime.now(timezone.utc))
    assert (status["phase"], status["podIP"], status["hostIP"]) == ("Running", "10.0.2.4", "10.0.1.5")
    assert [c["name"] for c in status["containerStatuses"]] == ["a", "b"]
