"""The tke-eni-ip-scheduler program."""
