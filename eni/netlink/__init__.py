"""Host networking: the only package that imports pyroute2."""
