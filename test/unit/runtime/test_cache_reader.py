"""Reads served from shared informers: deep copies, selectors, NotFound, and a split client."""

import pytest

from eni.runtime.cache import CacheNotSyncedError, CacheReader, InformerCache, SplitClient
from eni.runtime.client import ApiError, Client, NotFoundError, Reader
from eni.runtime.meta import POD, ObjectKey
from eni.runtime.testing import FakeClient, FakeListerWatcher


def pod(name, node, app, ns="default"):
    return {"metadata": {"name": name, "namespace": ns, "labels": {"app": app}}, "spec": {"nodeName": node}}


@pytest.fixture
def reader(running):
    lw = FakeListerWatcher([pod("a", "n1", "web"), pod("b", "n2", "web"), pod("c", "n1", "db", ns="other")])
    cache = InformerCache(lambda kind, selector: lw)
    running(cache.start)
    return CacheReader(cache, sync_timeout=10)


def test_conformance(reader):
    _: Reader = reader
    __: Client = SplitClient(reader=reader, writer=FakeClient())


def test_get_returns_a_private_copy(reader):
    first = reader.get(POD, ObjectKey("default", "a"))
    first["metadata"]["labels"]["app"] = "mutated"
    assert reader.get(POD, ObjectKey("default", "a"))["metadata"]["labels"]["app"] == "web"
    with pytest.raises(NotFoundError):
        reader.get(POD, ObjectKey("default", "zz"))


def test_list_filters_namespace_labels_and_fields(reader):
    names = lambda objs: sorted(o["metadata"]["name"] for o in objs)  # noqa: E731
    assert names(reader.list(POD)) == ["a", "b", "c"]
    assert names(reader.list(POD, namespace="default")) == ["a", "b"]
    assert names(reader.list(POD, label_selector="app=web", field_selector="spec.nodeName=n1")) == ["a"]
    with pytest.raises(ApiError):
        reader.list(POD, label_selector="app in (unclosed")


def test_unsynced_cache_is_a_clear_error():
    class Refusing:
        def list(self):
            from eni.runtime.client import TransportError

            raise TransportError("refused")

    reader = CacheReader(InformerCache(lambda kind, selector: Refusing()), sync_timeout=0.05)
    with pytest.raises(CacheNotSyncedError):
        reader.get(POD, ObjectKey("default", "a"))


def test_split_client_writes_go_to_the_writer(reader):
    writer = FakeClient()
    client = SplitClient(reader=reader, writer=writer)
    client.create(POD, pod("new", "n1", "web"))
    assert writer.get(POD, ObjectKey("default", "new"))
    with pytest.raises(NotFoundError):
        client.get(POD, ObjectKey("default", "new")), "reads come from the cache, which never saw it"
