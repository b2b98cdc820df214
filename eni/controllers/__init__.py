"""ipamd's reconcilers."""
