"""tke-eni: a VPC-native container network for Kubernetes on Tencent Cloud."""
