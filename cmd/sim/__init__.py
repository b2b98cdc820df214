"""The tke-eni-sim program: the local cluster and its stand-ins."""
