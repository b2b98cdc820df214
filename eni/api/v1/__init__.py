"""Group networking.tke.cloud.tencent.com, version v1."""
