"""The thread-safe indexed store."""

import pytest

from eni.runtime.cache import Store, index_by_field, index_by_namespace
from eni.runtime.cache.store import UnknownIndexError


def pod(name, node, ns="default", rv="1"):
    return {"metadata": {"name": name, "namespace": ns, "resourceVersion": rv}, "spec": {"nodeName": node}}


@pytest.fixture
def store():
    return Store({"node": index_by_field("spec.nodeName"), "namespace": index_by_namespace})


def test_objects_are_keyed_by_namespace_and_name(store):
    store.add(pod("a", "n1"))
    store.add({"metadata": {"name": "node-1"}})
    assert store.get_by_key("default/a")["spec"]["nodeName"] == "n1"
    assert store.get_by_key("node-1") == {"metadata": {"name": "node-1"}}
    assert store.get_by_key("default/missing") is None
    assert sorted(store.list_keys()) == ["default/a", "node-1"]


def test_index_follows_updates_and_deletes(store):
    store.add(pod("a", "n1"))
    store.add(pod("b", "n1"))
    store.add(pod("c", "n2", ns="kube-system"))
    assert [p["metadata"]["name"] for p in store.by_index("node", "n1")] == ["a", "b"]
    store.update(pod("a", "n2", rv="2"))
    assert [p["metadata"]["name"] for p in store.by_index("node", "n1")] == ["b"]
    assert [p["metadata"]["name"] for p in store.by_index("node", "n2")] == ["a", "c"]
    store.delete("default/b")
    assert store.by_index("node", "n1") == []
    assert store.index_values("node") == ["n2"], "empty index values are dropped"
    assert [p["metadata"]["name"] for p in store.by_index("namespace", "kube-system")] == ["c"]


def test_replace_swaps_content_and_rebuilds_indexes(store):
    store.add(pod("a", "n1"))
    previous = store.replace([pod("x", "n3")])
    assert list(previous) == ["default/a"]
    assert store.by_index("node", "n1") == []
    assert [p["metadata"]["name"] for p in store.by_index("node", "n3")] == ["x"]


def test_indexers_added_later_index_existing_objects(store):
    store.add(pod("a", "n1"))
    store.add_indexers({"name": lambda o: [o["metadata"]["name"]]})
    assert store.index_keys("name", "a") == ["default/a"]
    with pytest.raises(ValueError):
        store.add_indexers({"name": lambda o: []})


def test_unknown_index_is_a_clear_error(store):
    with pytest.raises(UnknownIndexError):
        store.by_index("nope", "x")


def test_missing_field_indexes_nothing(store):
    store.add({"metadata": {"name": "p", "namespace": "d"}})
    assert store.index_values("node") == []


def test_multi_value_index(store):
    store.add_indexers({"ips": lambda o: o.get("status", {}).get("ips", [])})
    store.add({"metadata": {"name": "p"}, "status": {"ips": ["10.0.0.1", "10.0.0.2"]}})
    assert store.index_keys("ips", "10.0.0.2") == ["p"]
    store.add({"metadata": {"name": "p"}, "status": {"ips": ["10.0.0.1"]}})
    assert store.index_keys("ips", "10.0.0.2") == []
