"""A reusable controller framework in threads (client-go and controller-runtime semantics).

It knows nothing of ENIs or Tencent Cloud and imports only the standard library,
``kubernetes`` and ``prometheus_client``."""
