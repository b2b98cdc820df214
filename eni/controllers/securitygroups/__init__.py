"""Security groups of the nodes' ENIs, kept in strong sync with each NEC's ordered list."""
