"""A loopback HTTP server that speaks the real Tencent Cloud API (VPC and CVM, 2017-03-12)."""
