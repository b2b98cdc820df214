"""Reflectors, informers and thread-safe indexed stores (client-go's tools/cache)."""

from eni.runtime.cache.cache import InformerCache
from eni.runtime.cache.informer import (
    DeletedFinalStateUnknown,
    EventHandlerFuncs,
    HandlerRegistration,
    ResourceEventHandler,
    SharedInformer,
)
from eni.runtime.cache.listwatch import KubeListerWatcher, ListerWatcher, ListResult, Selector, WatchEvent
from eni.runtime.cache.reader import CacheNotSyncedError, CacheReader, SplitClient
from eni.runtime.cache.reflector import Reflector
from eni.runtime.cache.store import IndexFunc, Store, index_by_field, index_by_namespace, object_key

__all__ = [
    "CacheNotSyncedError",
    "CacheReader",
    "DeletedFinalStateUnknown",
    "EventHandlerFuncs",
    "HandlerRegistration",
    "IndexFunc",
    "InformerCache",
    "KubeListerWatcher",
    "ListResult",
    "ListerWatcher",
    "Reflector",
    "ResourceEventHandler",
    "Selector",
    "SharedInformer",
    "SplitClient",
    "Store",
    "WatchEvent",
    "index_by_field",
    "index_by_namespace",
    "object_key",
]
