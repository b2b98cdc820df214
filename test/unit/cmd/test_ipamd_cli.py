"""tke-eni-ipamd's command line: help, defaults, validation errors, environment overrides, credentials."""

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from eni.api.v1.constants import WarmTargets
from tke_eni_ipamd import main as ipamd
from tke_eni_ipamd import settings as ipamd_settings
from tke_eni_ipamd import wiring

REQUIRED = ["--region", "ap-guangzhou", "--vpc-id", "vpc-1a", "--cluster-id", "cls-9z", "--subnets", "subnet-a1"]


@pytest.fixture
def started(monkeypatch):
    """Replace the not-yet-built control loops with a recorder of the settings they were given."""
    seen = []
    monkeypatch.setattr(wiring, "start", lambda settings: seen.append(settings) or 0)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDexample")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "very-secret-key")
    return seen


def run_ok(started, *args):
    assert ipamd.main([*REQUIRED, *args]) == 0
    return started[-1]


FLAGS = ["--kubeconfig", "--kube-client-qps", "--kube-client-burst", "--region", "--vpc-id", "--cluster-id",
         "--cloud-endpoint", "--credentials-file", "--cloud-qps", "--cloud-request-timeout", "--mode", "--subnets",
         "--ip-min-warm-target", "--ip-max-warm-target", "--eni-min-warm-target", "--eni-max-warm-target",
         "--enable-quick-release", "--release-interval", "--claim-expired-duration", "--enable-ownerref",
         "--only-nominated-eni-subnets", "--enable-security-groups", "--security-groups", "--enable-node-condition",
         "--enable-node-taint", "--gc-interval", "--gc-grace", "--leader-elect", "--leader-elect-lease-duration",
         "--leader-elect-renew-deadline", "--leader-elect-retry-period", "--leader-elect-resource-namespace",
         "--leader-elect-resource-name", "--leader-elect-identity", "--metrics-bind-address",
         "--health-probe-bind-address", "--log-level", "--log-format"]


@pytest.mark.parametrize("help_flag", ["-h", "--help"])
def test_help_lists_every_flag_in_groups(help_flag, capsys):
    assert ipamd.main([help_flag]) == 0
    out = capsys.readouterr().out
    for flag in FLAGS:
        assert re.search(rf"^\s+{re.escape(flag)}\b", out, re.M), flag
    for section in ("Kubernetes:", "Tencent Cloud:", "IP and ENI pools:", "Leader election:", "Security groups:"):
        assert f"\n{section}\n" in out
    assert "ENI_IP_MIN_WARM_TARGET" in out and "TENCENTCLOUD_SECRET_ID" in out


def test_defaults(started):
    s = run_ok(started)
    assert s.kube.kubeconfig is None and (s.kube.qps, s.kube.burst) == (10.0, 20)
    assert (s.cloud.region, s.cloud.vpc_id, s.cloud.cluster_id) == ("ap-guangzhou", "vpc-1a", "cls-9z")
    assert (s.cloud.endpoint, s.cloud.qps, s.cloud.request_timeout) == (None, 50.0, timedelta(seconds=10))
    assert s.pool.mode is ipamd_settings.PoolMode.NON_STATIC and s.pool.subnet_ids == ("subnet-a1",)
    assert (s.pool.ip_warm, s.pool.eni_warm) == (WarmTargets(5, 5), WarmTargets(1, 1))
    assert not s.pool.quick_release and s.pool.release_interval == timedelta(minutes=2)
    assert s.claims.expired_duration is None and not s.claims.enable_ownerref
    assert not s.security_groups.enabled and s.security_groups.group_ids == ()
    le = s.leader_election
    assert le.enabled and (le.lease_duration, le.renew_deadline, le.retry_period) == (
        timedelta(seconds=15), timedelta(seconds=10), timedelta(seconds=2))
    assert (le.namespace, le.name) == ("kube-system", "tke-eni-ipamd") and le.identity
    assert (str(s.serving.metrics), str(s.serving.health)) == ("127.0.0.1:8080", "127.0.0.1:8081")


def test_flags_are_parsed_into_settings(started, tmp_path):
    s = run_ok(started, "--mode", "static", "--subnets", "subnet-a1, subnet-b2", "--ip-min-warm-target", "2",
               "--ip-max-warm-target", "9", "--enable-quick-release", "--claim-expired-duration", "1h",
               "--enable-security-groups", "--security-groups", "sg-b,sg-a", "--cloud-endpoint",
               "127.0.0.1:9000", "--no-leader-elect", "--metrics-bind-address", "0",
               "--health-probe-bind-address", "[::1]:9443", "--kubeconfig", str(tmp_path / "kc"))
    assert s.pool.mode is ipamd_settings.PoolMode.STATIC and s.pool.subnet_ids == ("subnet-a1", "subnet-b2")
    assert s.pool.ip_warm == WarmTargets(2, 9) and s.pool.quick_release
    assert s.claims.expired_duration == timedelta(hours=1)
    assert s.security_groups.group_ids == ("sg-b", "sg-a")
    assert s.cloud.endpoint == "127.0.0.1:9000"
    assert not s.leader_election.enabled and s.serving.metrics is None and str(s.serving.health) == "[::1]:9443"
    assert s.kube.kubeconfig == tmp_path / "kc"


def test_environment_overrides_defaults_and_flags_override_environment(started, monkeypatch):
    monkeypatch.setenv("ENI_IP_MIN_WARM_TARGET", "3")
    monkeypatch.setenv("ENI_ENABLE_QUICK_RELEASE", "true")
    monkeypatch.setenv("ENI_RELEASE_INTERVAL", "30s")
    s = run_ok(started)
    assert s.pool.ip_warm == WarmTargets(3, 5) and s.pool.quick_release
    assert s.pool.release_interval == timedelta(seconds=30)
    assert run_ok(started, "--ip-min-warm-target", "4").pool.ip_warm == WarmTargets(4, 5)


def test_required_flags_can_come_from_the_environment(started, monkeypatch):
    for name, value in (("REGION", "ap-shanghai"), ("VPC_ID", "vpc-2"), ("CLUSTER_ID", "cls-2"),
                        ("SUBNETS", "subnet-x")):
        monkeypatch.setenv(f"ENI_{name}", value)
    assert ipamd.main([]) == 0
    assert started[-1].cloud.region == "ap-shanghai" and started[-1].pool.subnet_ids == ("subnet-x",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ip-min-warm-target", "6"], "'--ip-min-warm-target': must not exceed --ip-max-warm-target (5)"),
        (["--eni-min-warm-target", "2"], "'--eni-min-warm-target': must not exceed --eni-max-warm-target (1)"),
        (["--ip-min-warm-target", "-1"], "'--ip-min-warm-target'"),
        (["--claim-expired-duration", "4m"], "'--claim-expired-duration': must be at least 5m"),
        (["--claim-expired-duration", "forever"], "'forever' is not a duration"),
        (["--leader-elect-renew-deadline", "2s"], "'--leader-elect-renew-deadline': must be longer than 1.2 x"),
        (["--leader-elect-lease-duration", "10s"], "'--leader-elect-lease-duration': must be longer than"),
        (["--leader-elect-retry-period", "0s"], "'--leader-elect-retry-period': must be longer than 0s"),
        (["--leader-elect-resource-name", "Bad_Name"], "is not a valid object name"),
        (["--metrics-bind-address", "localhost"], "'--metrics-bind-address': 'localhost' is not HOST:PORT"),
        (["--metrics-bind-address", "127.0.0.1:70000"], "is not HOST:PORT"),
        (["--health-probe-bind-address", "example.com:80"], "'example.com' is not an IP address"),
        (["--subnets", "net-1"], "'--subnets': 'net-1' is not a subnet id"),
        (["--subnets", ""], "'--subnets': name at least one subnet"),
        (["--subnets", "subnet-a,subnet-a"], "listed twice"),
        (["--vpc-id", "1234"], "'--vpc-id': '1234' is not a vpc id"),
        (["--cluster-id", "c1"], "'--cluster-id'"),
        (["--region", "Guangzhou"], "'--region': 'Guangzhou' is not a region"),
        (["--security-groups", "sg-1"], "'--security-groups': has no effect without --enable-security-groups"),
        (["--enable-security-groups", "--security-groups", "default"], "'default' is not a sg id"),
        (["--cloud-endpoint", "http://127.0.0.1:9000"], "'--cloud-endpoint': 'http://127.0.0.1:9000' is not HOST:PORT"),
        (["--cloud-endpoint", "127.0.0.1"], "is not HOST:PORT"),
        (["--kube-client-qps", "30"], "'--kube-client-burst': must be at least 1 and at least --kube-client-qps"),
        (["--kube-client-qps", "0"], "'--kube-client-qps'"),
        (["--mode", "dynamic"], "'--mode'"),
        (["--cloud-request-timeout", "0"], "'--cloud-request-timeout': must be longer than 0s"),
        (["--gc-grace", "0s"], "'--gc-grace'"),
    ],
)
def test_invalid_settings_are_refused_with_the_flag_named(started, capsys, args, message):
    assert ipamd.main([*REQUIRED, *args]) == 2
    assert message in capsys.readouterr().err
    assert started == []


@pytest.mark.parametrize("missing", ["--region", "--vpc-id", "--cluster-id", "--subnets"])
def test_required_flags(started, capsys, missing):
    i = REQUIRED.index(missing)
    assert ipamd.main(REQUIRED[:i] + REQUIRED[i + 2:]) == 2
    assert f"Missing option '{missing}'" in capsys.readouterr().err


def test_credentials_from_the_environment_first_and_never_shown(started, tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[default]\nsecret_id = AKIDfile\nsecret_key = file-secret\n")
    s = run_ok(started, "--credentials-file", str(path))
    assert (s.cloud.credentials.secret_id, s.cloud.credentials.secret_key) == ("AKIDexample", "very-secret-key")
    assert "very-secret-key" not in repr(s) and "AKIDexample" not in repr(s)


def test_credentials_from_file_and_never_shown(started, monkeypatch, tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[default]\nsecret_id = AKIDfile\nsecret_key = file-secret\n")
    monkeypatch.delenv("TENCENTCLOUD_SECRET_ID")
    s = run_ok(started, "--credentials-file", str(path))
    assert (s.cloud.credentials.secret_id, s.cloud.credentials.secret_key) == ("AKIDfile", "file-secret")
    assert "file-secret" not in repr(s) and "AKIDfile" not in repr(s) and "file-secret" not in str(s.cloud)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("[other]\nsecret_id=a\nsecret_key=b\n", "has no [default] section"),
     ("[default]\nsecret_id=a\n", "lacks secret_id or secret_key"), ("not ini", "cannot read"),
     ("[default]\nsecret_id = a\nsecret_key = s3cr3t\n  oops\n[", "cannot read")],
)
def test_bad_credentials_file(started, capsys, monkeypatch, tmp_path, content, message):
    monkeypatch.delenv("TENCENTCLOUD_SECRET_KEY")
    path = tmp_path / "credentials"
    if content is not None:
        path.write_text(content)
    assert ipamd.main([*REQUIRED, "--credentials-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "s3cr3t" not in err and started == []


def test_missing_credentials(started, capsys, monkeypatch):
    monkeypatch.delenv("TENCENTCLOUD_SECRET_KEY")
    assert ipamd.main(REQUIRED) == 2
    assert "'--credentials-file': no usable Tencent Cloud credentials: set TENCENTCLOUD_SECRET_ID" in (
        capsys.readouterr().err)


def test_without_a_cluster_the_program_says_why_and_exits_1():
    env = {"PATH": "/usr/bin:/bin", "TENCENTCLOUD_SECRET_ID": "AKIDsub", "TENCENTCLOUD_SECRET_KEY": "s3cr3t-value"}
    done = subprocess.run([sys.executable, "-c", "from tke_eni_ipamd.main import run; run()", *REQUIRED,
                           "--health-probe-bind-address", "0", "--metrics-bind-address", "0"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent)
    assert done.returncode == 1
    assert "tke-eni-ipamd: cannot start: ConfigException" in done.stderr and done.stdout == ""
    assert "s3cr3t-value" not in done.stderr and "AKIDsub" not in done.stderr
