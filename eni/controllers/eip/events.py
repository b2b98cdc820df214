"""Event reasons the EIP controller records on pods and EIPClaims (``kubectl describe`` shows them).

Constants only; this module must never import anything that talks to the API or the cloud.
"""

from __future__ import annotations

INVALID_EIP_ANNOTATION = "InvalidEIPAnnotation"
"""Warning on the pod: an eip-* annotation was refused; nothing was allocated or changed."""
EIP_QUOTA_EXCEEDED = "EIPQuotaExceeded"
"""Warning on the pod: the account holds all the EIPs it may; allocation is retried slowly."""
EIP_UNAVAILABLE = "EIPUnavailable"
"""Warning on the pod: an EIP of eip-id-list does not exist, or none of them is free."""
EIP_CLOUD_ERROR = "EIPCloudError"
"""Warning on the pod: the cloud refused a request in a way retrying at once cannot fix."""
UNSUPPORTED_POD = "EIPUnsupportedPod"
"""Warning on the pod: it cannot get an EIP (host network)."""
EIP_ALLOCATED = "EIPAllocated"
EIP_ASSOCIATED = "EIPAssociated"
EIP_RETAINED = "EIPRetained"
"""On the claim: the pod is gone, the EIP is disassociated and kept for the next pod of that name."""
EIP_RELEASED = "EIPReleased"
EIP_CLAIM_EXPIRED = "EIPClaimExpired"
DELETION_DEFERRED = "EIPClaimDeletionDeferred"
"""Warning on the claim and the pod: the claim was deleted while its pod lives; it goes with the pod."""
