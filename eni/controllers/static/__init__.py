"""Static-IP mode of ipamd: per-pod VpcIPClaims whose IPs are assigned on demand and may outlive the pod.

``claims`` keeps each pod's claim (create, adopt, retain, expire, defer manual deletion, finalize);
``nodepass`` places claimed IPs on the pod's node (fewest-ENI rules, moves of retained IPs between
nodes, releases through the agent handshake). ``podview`` and ``placement`` are pure.
"""
