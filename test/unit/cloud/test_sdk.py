"""SDK client construction: endpoint override, no SDK retryer, no proxies for the override."""

from __future__ import annotations

import pytest

from eni.cloud.tencent import Credentials, TencentSettings
from eni.cloud.tencent.sdk import sdk_client_factory

CREDENTIALS = Credentials("AKIDsdkunit", "sdk-unit-secret")


def settings(endpoint: str | None) -> TencentSettings:
    return TencentSettings(region="ap-shanghai", cluster_id="cls-sdk", vpc_id="vpc-sdk00001", endpoint=endpoint,
                           request_timeout=3.0)


@pytest.mark.parametrize("service", ["vpc", "cvm"])
def test_endpoint_override_speaks_plain_http_to_it_without_proxies(service) -> None:
    client = sdk_client_factory(settings("127.0.0.1:8999"), CREDENTIALS)(service)
    http = client.profile.httpProfile
    assert (http.protocol, http.endpoint, http.reqTimeout) == ("http", "127.0.0.1:8999", 3.0)
    assert client.profile.retryer is None and client.region == "ap-shanghai"
    assert client._service == service and client._apiVersion == "2017-03-12"
    assert client.request.conn._session.trust_env is False


@pytest.mark.parametrize("service", ["vpc", "cvm"])
def test_without_override_the_real_https_endpoint_of_the_service(service) -> None:
    client = sdk_client_factory(settings(None), CREDENTIALS)(service)
    http = client.profile.httpProfile
    assert (http.protocol, http.endpoint) == ("https", f"{service}.tencentcloudapi.com")
    assert client.profile.retryer is None
    assert client.credential.secretKey == "sdk-unit-secret"


def test_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown service"):
        sdk_client_factory(settings(None), CREDENTIALS)("cbs")
