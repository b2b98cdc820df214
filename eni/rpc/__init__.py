"""Generated gRPC/protobuf stubs for the agent API and the kubelet device plugin API."""
