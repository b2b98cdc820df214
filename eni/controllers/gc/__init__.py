"""Leaked-resource garbage collection: cloud ENIs and IPs of this cluster that no object knows."""
