"""Test doubles with real in-memory behaviour, including a fake Kubernetes API server."""
