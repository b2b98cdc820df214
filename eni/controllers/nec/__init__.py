"""A node's NodeENIConfig: identity from the Node, limits and overrides, intents and status."""
