"""A fake Kubernetes API server that the official Python client and the real kubectl accept.

Our envtest: loopback HTTP, discovery, built-in kinds and CRDs, optimistic concurrency, the three
patch formats, status subresources, finalizers, garbage collection, selectors, pagination,
watches with bounded history, Table output and optional persistence. See ``FakeApiServer``.
"""

from .server import FakeApiServer

__all__ = ["FakeApiServer"]
