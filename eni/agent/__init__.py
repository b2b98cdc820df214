"""The node daemon: IP ledger, gRPC server, node and pod networking, GC, device plugins."""
