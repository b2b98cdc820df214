"""Event reasons ipamd records on NodeENIConfigs and Nodes (kubectl describe shows them).

Constants only; must never import anything that talks to the API or the cloud.
"""

from __future__ import annotations

ENI_LIMIT = "ENILimit"
"""The node's ENI or IP quota (cloud or annotation) stops the pool from growing."""
SUBNET_EXHAUSTED = "SubnetExhausted"
"""A subnet of the node's zone has no free IP; new IPs go elsewhere or wait."""
SECURITY_GROUP_SYNC_FAILED = "SecurityGroupSyncFailed"
"""An ENI's security groups could not be made equal to the node's list."""
INVALID_ANNOTATION = "InvalidAnnotation"
"""An NEC annotation was refused; the previous value stays in force."""
INVALID_PROVIDER_ID = "InvalidProviderID"
"""The Node's spec.providerID is not qcloud:///<zone>/ins-<id>."""
INVALID_NEC = "InvalidNodeENIConfig"
"""The node's NodeENIConfig cannot be decoded; ipamd leaves the node alone until it is fixed."""
CLOUD_ERROR = "CloudError"
"""A cloud call failed in a way retrying will not fix by itself."""
NODE_TAINTED = "NoPodIPs"
"""--enable-node-taint: the Node got ipamd's NoSchedule taint; it has no free IP and cannot get one."""
NODE_UNTAINTED = "PodIPsAvailable"
"""--enable-node-taint: ipamd's taint was removed; the node can give pods IPs again."""
ENI_CREATED = "ENICreated"
ENI_DELETED = "ENIDeleted"

CONDITION_ENI_LIMIT_REACHED = "ENILimitReached"
"""NEC / Node condition: the node cannot get more ENIs or IPs."""

# Static-IP mode: Warning Events on the pod whose claimed IP cannot be served, and on claims.
ZONE_MISMATCH = "ZoneMismatch"
"""The pod's retained IP lies in a subnet outside its node's zone; it cannot be moved there."""
NO_SUBNET = "NoUsableSubnet"
"""None of the subnets the pod may use (nominated, reserved by --only-nominated-eni-subnets) serve its node."""
IP_CONFLICT = "IPConflict"
"""The address the pod asks for belongs to another claim or could not be assigned."""
CLAIM_DELETION_DEFERRED = "DeletionDeferred"
"""kubectl delete vipc while its pod runs: the IP stays and the claim goes when the pod does."""
CLAIM_RETAINED = "IPRetained"
CLAIM_EXPIRED = "ClaimExpired"
INVALID_POD_ANNOTATION = "InvalidAnnotation"

# Exclusive ENIs (tke-direct-eni).
ENI_KEPT = "ENIKept"
"""Static-IP mode: a pod with delete policy Never is gone; its exclusive ENI is detached and kept for the next pod."""
ENI_REATTACHED = "ENIReattached"
"""Static-IP mode: a kept exclusive ENI was attached to the node of the next pod of that name."""
ENI_RECLAIMED = "ENIReclaimed"
"""A kept exclusive ENI was deleted: expired, deleted by hand (kubectl delete veni) or its workload is gone."""
DELETION_DEFERRED = "DeletionDeferred"
"""kubectl delete veni of an exclusive ENI a pod holds: the ENI goes when the pod does."""
