"""Settings validation and credential loading (secrets never shown)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eni.cloud.tencent import CredentialsError, TencentSettings, load_credentials


def test_settings_defaults_follow_the_product() -> None:
    settings = TencentSettings(region="ap-guangzhou", cluster_id="cls-1")
    assert settings.qps == 50.0
    assert settings.qps_for("ReleaseAddresses") == 10.0
    assert settings.qps_for("AssignPrivateIpAddresses") == 100.0


@pytest.mark.parametrize(
    "bad",
    [{"region": ""}, {"cluster_id": ""}, {"qps": 0}, {"burst": 0}, {"retry_attempts": 0},
     {"endpoint": "no-port"}, {"endpoint": "host:99999"}, {"endpoint": ":80"}, {"task_poll_interval": -1},
     {"action_qps": {"X": 0.0}}],
)
def test_settings_reject_bad_values(bad) -> None:
    values = {"region": "ap-guangzhou", "cluster_id": "cls-1", **bad}
    with pytest.raises(ValueError):
        TencentSettings(**values)


def test_credentials_from_env_win_and_hide_secret() -> None:
    creds = load_credentials({"TENCENTCLOUD_SECRET_ID": "AKIDx", "TENCENTCLOUD_SECRET_KEY": "s3cret"})
    assert (creds.secret_id, creds.secret_key, creds.token) == ("AKIDx", "s3cret", None)
    assert "s3cret" not in repr(creds)


def test_credentials_from_file(tmp_path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[default]\nsecret_id = AKIDf\nsecret_key = fkey\n[other]\nsecret_id = A\nsecret_key = B\n")
    assert load_credentials({}, path=path).secret_key == "fkey"
    assert load_credentials({}, path=path, profile="other").secret_id == "A"


@pytest.mark.parametrize(
    "content", ["[default]\nsecret_id = AKID\n", "[nope]\nsecret_id=a\nsecret_key=b\n", "garbage secretvalue\n"]
)
def test_bad_credentials_file_names_the_problem_not_the_secret(tmp_path, content) -> None:
    path = tmp_path / "credentials"
    path.write_text(content)
    with pytest.raises(CredentialsError) as caught:
        load_credentials({}, path=path)
    assert "secretvalue" not in str(caught.value) and caught.value.__cause__ is None


def test_missing_credentials() -> None:
    with pytest.raises(CredentialsError):
        load_credentials({"TENCENTCLOUD_SECRET_ID": "only-id"})
    with pytest.raises(CredentialsError):
        load_credentials({}, path=Path("/nonexistent/credentials"))
