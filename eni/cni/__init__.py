"""The CNI plugins' code: standard library only, fast start."""
