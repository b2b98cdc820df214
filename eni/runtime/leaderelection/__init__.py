"""Leader election on coordination.k8s.io/v1 Leases."""

from eni.runtime.leaderelection.elector import Elector, LeaderElectionSettings
from eni.runtime.leaderelection.lease_lock import KubeLeaseLock, LeaderElectionRecord, LeaseLock

__all__ = ["Elector", "KubeLeaseLock", "LeaderElectionRecord", "LeaderElectionSettings", "LeaseLock"]
