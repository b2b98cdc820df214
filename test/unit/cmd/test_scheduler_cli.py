"""tke-eni-ip-scheduler's command line: help, defaults, the optional cloud group, validation, env overrides."""

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tke_eni_ip_scheduler import main as scheduler
from tke_eni_ip_scheduler import wiring

FLAGS = ["--listen", "--only-nominated-eni-subnets", "--kubeconfig", "--kube-client-qps", "--kube-client-burst",
         "--region", "--cluster-id", "--cloud-endpoint", "--credentials-file", "--cloud-qps",
         "--subnet-refresh-interval", "--metrics-bind-address", "--health-probe-bind-address", "--log-level",
         "--log-format"]


@pytest.fixture
def started(monkeypatch):
    seen = []
    monkeypatch.setattr(wiring, "start", lambda settings: seen.append(settings) or 0)
    return seen


def test_help_lists_every_flag_in_groups(capsys):
    assert scheduler.main(["-h"]) == 0
    out = capsys.readouterr().out
    for flag in FLAGS:
        assert re.search(rf"^\s+{re.escape(flag)}\b", out, re.M), flag
    for section in ("Extender:", "Kubernetes:", "Tencent Cloud (optional):", "Serving and logging:"):
        assert f"\n{section}\n" in out
    assert "[ip-scheduler]" in out


def test_defaults_need_no_cloud(started):
    assert scheduler.main([]) == 0
    s = started[-1]
    assert str(s.extender.listen) == "127.0.0.1:8900" and not s.extender.only_nominated_subnets
    assert s.cloud is None and s.kube.kubeconfig is None and (s.kube.qps, s.kube.burst) == (10.0, 20)
    assert (str(s.serving.metrics), str(s.serving.health)) == ("127.0.0.1:8901", "127.0.0.1:8902")


def test_cloud_group(started, monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDx")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "k3y-value")
    assert scheduler.main(["--region", "ap-guangzhou", "--cluster-id", "cls-1", "--cloud-endpoint",
                           "127.0.0.1:9000", "--subnet-refresh-interval", "1m"]) == 0
    cloud = started[-1].cloud
    assert (cloud.region, cloud.cluster_id, cloud.endpoint, cloud.qps) == ("ap-guangzhou", "cls-1",
                                                                            "127.0.0.1:9000", 5.0)
    assert cloud.subnet_refresh_interval == timedelta(minutes=1) and cloud.credentials.secret_key == "k3y-value"
    assert "k3y-value" not in repr(started[-1])


def test_environment_overrides(started, monkeypatch):
    monkeypatch.setenv("ENI_LISTEN", "0.0.0.0:9999")
    monkeypatch.setenv("ENI_ONLY_NOMINATED_ENI_SUBNETS", "yes")
    assert scheduler.main([]) == 0
    assert str(started[-1].extender.listen) == "0.0.0.0:9999" and started[-1].extender.only_nominated_subnets
    assert scheduler.main(["--listen", "127.0.0.1:1"]) == 0 and started[-1].extender.listen.port == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "0"], "'--listen': the extender cannot be disabled"),
        (["--listen", "host:80"], "'--listen': 'host' is not an IP address"),
        (["--cluster-id", "cls-1"], "'--cluster-id': has no effect without --region"),
        (["--cloud-endpoint", "127.0.0.1:1"], "'--cloud-endpoint': has no effect without --region"),
        (["--region", "ap-guangzhou"], "'--credentials-file': no usable Tencent Cloud credentials"),
        (["--subnet-refresh-interval", "soon"], "'soon' is not a duration"),
        (["--kube-client-qps", "50"], "'--kube-client-burst'"),
        (["--health-probe-bind-address", "1.2.3.4"], "'--health-probe-bind-address'"),
    ],
)
def test_invalid_settings_are_refused(started, capsys, args, message):
    assert scheduler.main(args) == 2
    assert message in capsys.readouterr().err and started == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "ap-guangzhou"], "'--cluster-id': is required with --region"),
        (["--region", "gz", "--cluster-id", "cls-1"], "'--region': 'gz' is not a region"),
        (["--region", "ap-guangzhou", "--cluster-id", "cls-1", "--cloud-endpoint", "x"], "is not HOST:PORT"),
        (["--region", "ap-guangzhou", "--cluster-id", "cls-1", "--subnet-refresh-interval", "0"],
         "'--subnet-refresh-interval': must be longer than 0s"),
    ],
)
def test_invalid_cloud_settings_are_refused(started, capsys, monkeypatch, args, message):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "id")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "key")
    assert scheduler.main(args) == 2
    assert message in capsys.readouterr().err and started == []


def run_program(*args, env=None):
    return subprocess.run([sys.executable, "-c", "from tke_eni_ip_scheduler.main import run; run()", *args],
                          env=env or {"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parent)


def test_an_unreadable_kubeconfig_ends_with_the_reason_and_exit_1(tmp_path):
    done = run_program("--kubeconfig", str(tmp_path / "missing"))
    assert done.returncode == 1 and done.stdout == ""
    assert "tke-eni-ip-scheduler: cannot start:" in done.stderr and "missing" in done.stderr


def test_outside_a_cluster_without_kubeconfig_it_says_so_and_exits_1():
    done = run_program()
    assert done.returncode == 1
    assert "tke-eni-ip-scheduler: cannot start:" in done.stderr
    assert "Traceback" not in done.stderr


def test_build_wires_the_cluster_derived_subnets_without_cloud_flags(tmp_path, started):
    from eni.runtime.testing.apiserver import FakeApiServer
    from eni.scheduler import ClusterSubnets

    server = FakeApiServer()
    server.start()
    try:
        server.write_kubeconfig(str(tmp_path / "kubeconfig"))
        assert scheduler.main(["--kubeconfig", str(tmp_path / "kubeconfig"), "--metrics-bind-address", "0"]) == 0
        program = wiring.build(started[-1])
        assert isinstance(program.server.extender.subnets, ClusterSubnets)
        assert program.metrics_server is None and not program.server.extender.only_nominated_subnets
    finally:
        server.stop()
