"""The Tencent Cloud adapter: the only importer of tencentcloud-sdk-python."""
