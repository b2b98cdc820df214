"""Whether one node can take one more exclusive ENI for a direct-ENI pod (``tke-direct-eni``), and how well.

Such a pod gets a whole ENI moved into its network namespace, so what counts is ENIs, not IPs. A node fits
when, in one of the pod's candidate subnets (``eni.scheduler.candidates``, as for a shared-ENI pod),
- a warm exclusive ENI is free: Bound, held by no pod (not in the agent's ``inUseENIs``) and kept for no
  other pod (non-static mode's pool; score 10), or else
- the node may attach one more exclusive ENI (fewer attached than ``spec.maxDirectENI``) and the subnet has
  a free address for the new ENI's primary IP (score 5). A kept ENI is re-attached: no new address.
A node that has an ENI reserved for this very pod attached (static mode) fits without either; that is
decided by name in ``eni.scheduler.judge``, because it is not part of a node's shape. A node that may attach
no exclusive ENI at all is unresolvable.

Pure like ``eni.scheduler.assess``: frozen values in, an ``Assessment`` out; never blocks, never raises on
odd data; messages carry no node name so kube-scheduler can aggregate them.
"""

from __future__ import annotations

from collections.abc import Mapping

from eni.scheduler.candidates import Candidates, has_free
from eni.scheduler.model import ENI_LIMIT_EXCEED, INSUFFICIENT_IP_OR_ENI, NodeCapacity, PodNeeds, SubnetInfo, reason
from eni.scheduler.verdict import FITS_EXISTING_ENI, FITS_NEW_ENI, Assessment


def assess_direct(needs: PodNeeds, node: NodeCapacity, found: Candidates, *,
                  subnets: Mapping[str, SubnetInfo]) -> Assessment:
    """How ``node`` can give a direct-ENI pod with ``needs`` an exclusive ENI in its candidate subnets ``found``."""
    if not needs.kept_eni and any(node.free_direct_enis.get(subnet, 0) > 0 for subnet in found.attached):
        return FITS_EXISTING_ENI
    if not node.can_attach_direct_eni:
        return _no_room(needs, node)
    addresses = 0 if needs.kept_eni else 1
    if any(has_free(subnets, subnet, addresses) for subnet in found.new_eni):
        return FITS_NEW_ENI
    # found.new_eni is not empty here: without it, found.attached holds a free warm ENI's subnet
    verb = "has" if len(found.new_eni) == 1 else "have"
    detail = f"no free exclusive ENI and {', '.join(found.new_eni)} {verb} no free IP for a new one"
    return Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, detail))


def _no_room(needs: PodNeeds, node: NodeCapacity) -> Assessment:
    if node.max_direct_eni == 0:
        return Assessment(failure=reason(ENI_LIMIT_EXCEED, "the node may attach no exclusive ENI "
                                                           "(maxDirectENI is 0)"), unresolvable=True)
    what = f"kept ENI {needs.kept_eni} cannot be re-attached" if needs.kept_eni else "no free exclusive ENI"
    detail = f"{what} and the node has {node.direct_eni_count} of {node.max_direct_eni} exclusive ENIs attached"
    return Assessment(failure=reason(ENI_LIMIT_EXCEED, detail))
