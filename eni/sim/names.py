"""Names of everything the local cluster creates in the kernel, all derived from one unique prefix.

The prefix (``tkesim-`` plus random hex) is recorded in the state dir before anything is created, so
``down`` can find and remove every namespace of a cluster even after a crash, and can never touch a
namespace that some other cluster or program made. Interface names stay within the kernel's 15 bytes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

PREFIX_STEM = "tkesim-"
_PREFIX_RE = re.compile(r"^tkesim-[0-9a-f]{6}$")
_ID_RE = re.compile(r"^(eni|ins)-([0-9a-z]{8})$")


def new_prefix() -> str:
    """A fresh namespace prefix, e.g. ``tkesim-3f9a1c``."""
    return PREFIX_STEM + secrets.token_hex(3)


def _suffix(resource_id: str, kind: str) -> str:
    match = _ID_RE.match(resource_id)
    if match is None or match.group(1) != kind:
        raise ValueError(f"not a {kind} id: {resource_id!r}")
    return match.group(2)


@dataclass(frozen=True, slots=True)
class SimNames:
    """Namespace and link names of one simulated cluster."""

    prefix: str

    def __post_init__(self) -> None:
        if not _PREFIX_RE.match(self.prefix):
            raise ValueError(f"invalid simulation prefix {self.prefix!r} (expected tkesim-<6 hex>)")

    @property
    def router(self) -> str:
        """The "VPC router" namespace."""
        return f"{self.prefix}-vpc"

    def node(self, instance_id: str) -> str:
        """The namespace of the node that is CVM ``instance_id``."""
        return f"{self.prefix}-{instance_id}"

    def pod(self, uid: str) -> str:
        """The namespace of the pod with ``metadata.uid`` ``uid``."""
        clean = re.sub(r"[^0-9a-z]", "", uid.lower())[:16]
        if not clean:
            raise ValueError(f"pod uid {uid!r} has no usable characters")
        return f"{self.prefix}-pod-{clean}"

    def owns(self, netns: str) -> bool:
        """Whether ``netns`` belongs to this cluster."""
        return netns.startswith(self.prefix + "-")

    @staticmethod
    def router_link(eni_id: str) -> str:
        """The router's end of the veth that is ENI ``eni_id`` (``r`` + the id's 8 characters)."""
        return "r" + _suffix(eni_id, "eni")
