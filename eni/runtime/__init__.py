"""A reusable controller framework in threads (client-go and controller-runtime semantics).

It knows nothing of ENIs or Tencent Cloud and imports only the standard library, ``kubernetes`` and
``prometheus_client``. Map of the package:

- ``meta``: ResourceKind, ObjectKey, kind constants, ``Obj`` (a decoded JSON object; never mutate shared ones).
- ``clock``: the injectable Clock (``testing.FakeClock`` for tests).
- ``workqueue``: Queue, DelayingQueue, RateLimitingQueue and the rate limiters.
- ``cache``: Store with indexes, Reflector, SharedInformer, InformerCache (shared informers), CacheReader.
- ``client``: KubeClient (typed errors, QPS limit), Reader/Writer/Client protocols, conflict-retry helpers.
- ``reconcile``, ``controller``, ``handler``, ``predicate``, ``builder``: the reconcile loop and its wiring.
- ``leaderelection``: Lease lock and Elector; ``manager``: start/stop order, health and metrics endpoints.
- ``events``: the aggregating EventRecorder; ``log``: key/value logging bound per reconcile.
- ``testing``: FakeClock, FakeClient, FakeListerWatcher, FakeLeaseLock, RecordingQueue, and the FakeApiServer.
"""
