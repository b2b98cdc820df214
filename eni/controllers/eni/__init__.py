"""VpcENI and VpcIP objects: the API server's record of every ENI and IP the cluster holds."""
