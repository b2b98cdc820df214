"""A typed-error client over the official Kubernetes client."""
