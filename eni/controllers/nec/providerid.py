"""Parse a Node's ``spec.providerID`` (``qcloud:///<zone>/ins-xxxx``) into zone and instance id.

Pure: must never call the API or the cloud.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PROVIDER_ID = re.compile(r"^qcloud:///(?P<zone>[a-z]+-[a-z]+-[0-9a-z-]+)/(?P<instance>ins-[0-9a-z]+)$")


class ProviderIdError(ValueError):
    """The Node's providerID is missing or not a qcloud one."""


@dataclass(frozen=True, slots=True)
class NodeInstance:
    zone: str
    instance_id: str


def parse_provider_id(provider_id: str) -> NodeInstance:
    """``qcloud:///ap-guangzhou-3/ins-abc`` -> zone and instance.

    >>> parse_provider_id("qcloud:///ap-guangzhou-3/ins-emu00001")
    NodeInstance(zone='ap-guangzhou-3', instance_id='ins-emu00001')
    """
    match = _PROVIDER_ID.match(provider_id.strip())
    if match is None:
        raise ProviderIdError(f"spec.providerID {provider_id!r} is not qcloud:///<zone>/ins-<id>")
    return NodeInstance(zone=match["zone"], instance_id=match["instance"])
