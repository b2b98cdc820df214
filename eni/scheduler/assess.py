"""Whether one node can serve one shared-ENI pod's IP, and how well: the rule shared by filter and prioritize.

A node fits a route-ENI pod when one of the pod's candidate subnets (``eni.scheduler.candidates``) has
- an attached route ENI with a free secondary-IP slot, and a free address in the subnet (score 10), or else
- room for one more ENI on the node and two free addresses in the subnet: the new ENI's primary IP and
  the pod's (score 5).
A retained IP is already the pod's, so it needs a slot but no new address. A failure says why, prefixed
``[ip-scheduler]``; a node that may attach no route ENI at all (``maxENI`` 0) is unresolvable, like zone and
configuration mismatches: no preemption can make it fit.

Pure: reads frozen values only, never blocks, never raises on odd data. Messages carry no node name so
that kube-scheduler can aggregate them across nodes. Direct-ENI pods are judged by ``eni.scheduler.direct``
and both rules are dispatched, once per node shape, by ``eni.scheduler.judge``.
"""

from __future__ import annotations

from collections.abc import Mapping

from eni.scheduler.candidates import Candidates, has_free
from eni.scheduler.model import ENI_LIMIT_EXCEED, INSUFFICIENT_IP_OR_ENI, NodeCapacity, PodNeeds, SubnetInfo, reason
from eni.scheduler.verdict import FITS_EXISTING_ENI, FITS_NEW_ENI, Assessment


def assess(needs: PodNeeds, node: NodeCapacity, found: Candidates, *,
           subnets: Mapping[str, SubnetInfo]) -> Assessment:
    """How ``node`` can serve a shared-ENI pod with ``needs`` in its candidate subnets ``found``."""
    addresses = 0 if needs.retained_ip else 1
    slots = node.eni_free_slots
    for subnet in found.attached:
        if slots.get(subnet, 0) > 0 and has_free(subnets, subnet, addresses):
            return FITS_EXISTING_ENI
    if node.can_attach_eni:
        for subnet in found.new_eni:
            if has_free(subnets, subnet, addresses + 1):
                return FITS_NEW_ENI
    return _shortage(node, found, addresses=addresses, subnets=subnets)


def _shortage(node: NodeCapacity, found: Candidates, *, addresses: int,
              subnets: Mapping[str, SubnetInfo]) -> Assessment:
    if node.max_eni == 0 and not node.eni_free_slots:
        return Assessment(failure=reason(ENI_LIMIT_EXCEED, "the node may attach no ENI (maxENI is 0)"),
                          unresolvable=True)
    candidates = found.every
    with_ips = [s for s in candidates if has_free(subnets, s, max(addresses, 1))]
    if not node.can_attach_eni and (with_ips or addresses == 0):
        detail = (f"no ENI in {', '.join(with_ips or candidates)} has a free IP slot and the node has "
                  f"{node.eni_count} of {node.max_eni} ENIs attached")
        return Assessment(failure=reason(ENI_LIMIT_EXCEED, detail))
    if with_ips:
        detail = f"{', '.join(with_ips)} cannot hold a new ENI's primary IP and the pod's IP"
    else:
        detail = f"{', '.join(candidates)} {'has' if len(candidates) == 1 else 'have'} no free IP"
    return Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, detail))
