"""The local cluster: a simulated VPC in network namespaces, nodes, kubelets and a scheduler."""
