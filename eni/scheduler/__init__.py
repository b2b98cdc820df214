"""The kube-scheduler extender: pure filter/prioritize functions and a thin HTTP server."""
