"""The pyroute2-backed implementation of the netlink interfaces; the only importer of pyroute2.

Import cost is ~0.2 s (pyroute2 itself), so only `cmd` and the netns tests import this package; the agent codes
against `eni.netlink.interfaces`.
"""

from eni.netlink.pyroute.network import PyrouteNetwork

__all__ = ["PyrouteNetwork"]
