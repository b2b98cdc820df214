"""Cloud access: a typed VPC/CVM interface, the Tencent adapter and the Tencent Cloud emulator.

The only package that imports tencentcloud-sdk-python (in ``eni.cloud.tencent``)."""
