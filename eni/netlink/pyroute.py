"""The pyroute2-backed implementation of the netlink interface."""
