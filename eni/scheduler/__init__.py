"""The kube-scheduler extender: pure filter/prioritize functions and a thin HTTP server.

It judges pods that want an IP of a shared ENI (static-IP mode's retained IPs and nominated subnets) and
pods that want a whole exclusive ENI (``tke-direct-eni``: warm ENIs, room to attach one, a kept ENI's zone).
Layout: ``model`` (values and the ``SubnetCapacity`` seam), ``facts`` + ``index`` (informer handlers that
precompute per-node capacity), ``subnets`` (capacity from the cluster or the cloud), ``podneeds``,
``assess`` (shared ENIs) + ``direct`` (exclusive ENIs) + ``judge`` + ``filter`` + ``prioritize`` (pure),
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
