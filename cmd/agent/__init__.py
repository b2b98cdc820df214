"""The tke-eni-agent program."""
