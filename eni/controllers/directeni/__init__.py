"""Exclusive (``tke-direct-eni``) ENIs: the per-node warm pool, the ENI per static pod, and kept ENIs' reclaim."""
