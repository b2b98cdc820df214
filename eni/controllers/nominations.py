"""Subnets reserved under ``--only-nominated-eni-subnets``: those that some pod nominates for itself.

Why one function: the shared-ENI (static IP) node pass and the exclusive-ENI pass must keep the same subnets
aside, or one kind of pod could take an address from a subnet the other kind nominated. A shared-ENI pod's
nominations live in its VpcIPClaim; an exclusive-ENI pod has no claim, so its own ``nominated-eni-subnets``
annotation counts while the pod has not terminated (as the scheduler extender counts them).
Must never: write anything; fail on one pod's malformed annotation (that pod is skipped: it is refused anyway).
"""

from __future__ import annotations

from eni.api.v1 import VPC_IP_CLAIM
from eni.api.v1.constants import parse_nominated_eni_subnets
from eni.api.v1.errors import AnnotationError
from eni.controllers.directeni.pods import is_live, wants_direct_eni
from eni.controllers.static.podview import PodView
from eni.controllers.static.writer import decode_claim
from eni.runtime.client.interfaces import Reader
from eni.runtime.meta import POD

__all__ = ["reserved_subnets"]


def reserved_subnets(reader: Reader) -> frozenset[str]:
    """Every subnet a VpcIPClaim or a live exclusive-ENI pod nominates (read from ``reader``'s cache)."""
    nominated: set[str] = set()
    for claim in (decode_claim(c) for c in reader.list(VPC_IP_CLAIM)):
        if claim is not None:
            nominated.update(claim.spec.nominated_subnet_ids)
    for pod in reader.list(POD):
        if not wants_direct_eni(pod) or not is_live(pod):
            continue
        try:
            nominated.update(parse_nominated_eni_subnets(PodView.of(pod).annotations))
        except AnnotationError:
            continue
    return frozenset(nominated)
