"""The tke-eni-ipamd program."""
