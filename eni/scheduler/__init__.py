"""The kube-scheduler extender: pure filter/prioritize functions and a thin HTTP server.

It judges pods that want an IP of a shared ENI (static-IP mode's retained IPs and nominated subnets) and
pods that want a whole exclusive ENI (``tke-direct-eni``: warm ENIs, room to attach one, a kept ENI's zone).
Layout: ``model`` (values and the ``SubnetCapacity`` seam), ``facts`` + ``index`` (informer handlers that
precompute per-node capacity; ``nominations`` for ``--only-nominated-eni-subnets``), ``subnets`` (capacity
from the cluster or the cloud), ``podneeds``, then (pure) ``judge``: ``candidates`` (the subnets that may
serve a pod on a node), then ``assess`` (shared ENIs) or ``direct`` (exclusive ENIs), each giving a
``verdict``; ``filter`` and ``prioritize`` judge many nodes at once;
``wire`` (the protocol's JSON), ``extender`` (glue) and ``server`` (HTTP). Only ``cmd/scheduler`` wires
concrete parts (the Tencent adapter) into it.
"""

from eni.scheduler.extender import Extender, NotReady
from eni.scheduler.filter import FilterOutcome, filter_nodes
from eni.scheduler.index import ClusterIndex, SubnetUsage
from eni.scheduler.metrics import ExtenderMetrics
from eni.scheduler.model import NodeCapacity, PodNeeds, SubnetCapacity, SubnetInfo
from eni.scheduler.prioritize import score_nodes
from eni.scheduler.server import ExtenderServer
from eni.scheduler.subnets import CloudSubnets, ClusterSubnets
from eni.scheduler.wire import ArgsError, ExtenderArgs, decode_args

__all__ = [
    "ArgsError",
    "CloudSubnets",
    "ClusterIndex",
    "ClusterSubnets",
    "Extender",
    "ExtenderArgs",
    "ExtenderMetrics",
    "ExtenderServer",
    "FilterOutcome",
    "NodeCapacity",
    "NotReady",
    "PodNeeds",
    "SubnetCapacity",
    "SubnetInfo",
    "SubnetUsage",
    "decode_args",
    "filter_nodes",
    "score_nodes",
]
