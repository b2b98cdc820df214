"""Builds tencentcloud-sdk-python clients (VPC and CVM 2017-03-12) from settings and credentials.

The SDK is configured so that it never retries on its own (no ``retryer``: its StandardRetryer in
3.1.195 raises a stale error after a successful retry) and never fails over to another region
(region breaker off). With an endpoint override the SDK speaks plain http to ``host:port`` and ignores
proxy variables, since the override always names a server the caller chose (the emulator).
"""

from __future__ import annotations

from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312.cvm_client import CvmClient
from tencentcloud.vpc.v20170312.vpc_client import VpcClient

from eni.cloud.tencent.caller import SdkClient, SdkClientFactory
from eni.cloud.tencent.settings import Credentials, TencentSettings

__all__ = ["SERVICES", "sdk_client_factory"]

SERVICES = ("vpc", "cvm")


def sdk_client_factory(settings: TencentSettings, credentials: Credentials) -> SdkClientFactory:
    """A factory of SDK clients for ``vpc`` and ``cvm``; each call builds a new client."""

    def build(service: str) -> SdkClient:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        if settings.endpoint:
            http = HttpProfile(protocol="http", endpoint=settings.endpoint, reqTimeout=settings.request_timeout)
        else:
            http = HttpProfile(endpoint=f"{service}.tencentcloudapi.com", reqTimeout=settings.request_timeout)
        http.keepAlive = True
        profile = ClientProfile(httpProfile=http, disable_region_breaker=True, retryer=None)
        credential = Credential(credentials.secret_id, credentials.secret_key, credentials.token)
        client_class = VpcClient if service == "vpc" else CvmClient
        client: SdkClient = client_class(credential, settings.region, profile)
        if settings.endpoint:
            _ignore_proxies(client)
        return client

    return build


def _ignore_proxies(client: object) -> None:
    # The SDK picks HTTP_PROXY from the environment and requests adds its own env lookup; neither
    # may divert calls meant for an explicit loopback endpoint.
    connection = getattr(getattr(client, "request", None), "conn", None)
    if connection is None:
        return
    connection.proxy = None
    session = getattr(connection, "_session", None)
    if session is not None:
        session.trust_env = False
