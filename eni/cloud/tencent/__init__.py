"""The Tencent Cloud adapter: the only importer of tencentcloud-sdk-python.

``TencentVpc`` implements ``eni.cloud.interfaces.VpcApi``; only the composition root (``cmd``) and
the simulation build it. Everything above ``eni.cloud`` uses the Protocol.
"""

from eni.cloud.tencent.settings import Credentials, CredentialsError, TencentSettings, load_credentials
from eni.cloud.tencent.vpc import TencentVpc

__all__ = ["Credentials", "CredentialsError", "TencentSettings", "TencentVpc", "load_credentials"]
