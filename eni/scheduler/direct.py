"""Whether one node can take one more exclusive ENI for a direct-ENI pod (``tke-direct-eni``), and how well.

Such a pod gets a whole ENI moved into its network namespace, so what counts is ENIs, not IPs. A node fits
when, in one of the pod's candidate subnets,
- a warm exclusive ENI is free: Bound, held by no pod (not in the agent's ``inUseENIs``) and kept for no
  other pod (non-static mode's pool; score 10), or else
- the node may attach one more exclusive ENI (fewer attached than ``spec.maxDirectENI``) and the subnet has
  a free address for the new ENI's primary IP (score 5). A kept ENI is re-attached: no new address.
A node that has an ENI reserved for this very pod attached (static mode) fits without either; that is
decided by name in ``eni.scheduler.judge``, because it is not part of a node's shape.

Candidate subnets: for a pod whose ENI was kept (static mode) only the kept ENI's subnet, and so only nodes
of its zone; for a pod with ``nominated-eni-subnets`` those of them in the node's zone; otherwise the node's
own subnets minus those reserved for nominating pods (``--only-nominated-eni-subnets``).

Pure like ``eni.scheduler.assess``: frozen values in, an ``Assessment`` out; never blocks, never raises on
odd data; messages carry no node name so kube-scheduler can aggregate them.
"""

from __future__ import annotations

from collections.abc import Mapping

from eni.scheduler.assess import (
    FITS_EXISTING_ENI,
    FITS_NEW_ENI,
    NOT_CONFIGURED,
    Assessment,
    has_free,
    in_zone,
    mismatch,
)
from eni.scheduler.model import (
    ENI_LIMIT_EXCEED,
    INSUFFICIENT_IP_OR_ENI,
    INVALID_POD,
    NodeCapacity,
    PodNeeds,
    SubnetInfo,
    reason,
)

FITS_RESERVED_ENI = FITS_EXISTING_ENI
"""The node already has the ENI reserved for this pod attached: nothing to attach."""


def assess_direct(
    needs: PodNeeds,
    node: NodeCapacity | None,
    *,
    subnets: Mapping[str, SubnetInfo],
    reserved: frozenset[str] = frozenset(),
) -> Assessment:
    """How ``node`` can give a direct-ENI pod with ``needs`` an exclusive ENI."""
    if needs.invalid:
        return Assessment(failure=reason(INVALID_POD, needs.invalid), unresolvable=True)
    if node is None or not node.configured:
        return NOT_CONFIGURED
    if needs.subnets is None:
        candidates = sorted(s for s in node.subnets | frozenset(node.free_direct_enis) if s not in reserved)
        if not candidates:
            detail = ("all of the node's subnets are reserved for pods that nominate them" if node.usable_subnets
                      or node.free_direct_enis else "the node has no subnet for ENIs")
            return Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, detail), unresolvable=True)
        new_eni_subnets = [s for s in candidates if s in node.subnets]
    else:
        candidates = sorted(s for s in needs.subnets if in_zone(s, node, subnets))
        if not candidates:
            return mismatch(needs, node, subnets)
        new_eni_subnets = candidates
    if not needs.kept_eni:
        warm = node.free_direct_enis
        if any(warm.get(subnet, 0) > 0 for subnet in candidates):
            return FITS_EXISTING_ENI
    addresses = 0 if needs.kept_eni else 1
    if node.can_attach_direct_eni:
        if any(has_free(subnets, subnet, addresses) for subnet in new_eni_subnets):
            return FITS_NEW_ENI
        if not new_eni_subnets:
            return Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, "no free exclusive ENI and no subnet of the "
                                                                     "node for a new one"))
        verb = "has" if len(new_eni_subnets) == 1 else "have"
        detail = f"no free exclusive ENI and {', '.join(new_eni_subnets)} {verb} no free IP for a new one"
        return Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, detail))
    return _no_room(needs, node)


def _no_room(needs: PodNeeds, node: NodeCapacity) -> Assessment:
    if node.max_direct_eni == 0:
        return Assessment(failure=reason(ENI_LIMIT_EXCEED, "the node may attach no exclusive ENI "
                                                           "(maxDirectENI is 0)"), unresolvable=True)
    what = f"kept ENI {needs.kept_eni} cannot be re-attached" if needs.kept_eni else "no free exclusive ENI"
    detail = f"{what} and the node has {node.direct_eni_count} of {node.max_direct_eni} exclusive ENIs attached"
    return Assessment(failure=reason(ENI_LIMIT_EXCEED, detail))
