"""Non-static IP pools per node: pure sizing and planning, and the node reconciler that applies them."""
