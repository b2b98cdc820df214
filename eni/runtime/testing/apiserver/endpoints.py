"""The REST verbs on resources: get, list, create, update, patch, delete, deletecollection, binding.

Each call turns one HTTP request (already routed) into store operations and a reply body, with
the status codes kube-apiserver uses (201 on create, 202 for a deletion left pending by
finalizers...). Lists are assembled from pre-serialized objects so that listing thousands of
objects costs one join. Every failure is a StatusError; nothing here touches sockets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors, protobuf, table
from .admission import subject
from .index import Stored, dumps
from .kinds import Registry, ResourceType
from .paging import decode_continue
from .patch import MalformedPatch, PatchError, json_patch, merge_patch, strategic_merge_patch
from .routing import ResourcePath
from .selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector
from .store import Store

JSON_TYPE = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    body: bytes
    content_type: str = JSON_TYPE


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    propagation: str
    preconditions: dict[str, Any] | None
    grace_period: int | None


@dataclass(frozen=True, slots=True)
class Request:
    """One routed API request."""

    method: str
    path: ResourcePath
    query: dict[str, str]
    body: bytes
    content_type: str
    accept: str

    @property
    def wants_table(self) -> bool:
        return "as=Table" in self.accept

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun", "") == "All"


def flag(query: dict[str, str], name: str) -> bool:
    """A boolean query parameter as Go's strconv.ParseBool reads it ("true", "True", "1"...)."""
    return query.get(name, "").lower() in ("1", "t", "true")


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {e}") from e


def parse_object(body: bytes, content_type: str = JSON_TYPE) -> dict[str, Any]:
    media = content_type.split(";")[0].strip().lower()
    if media == protobuf.MEDIA_TYPE:
        return _parse_protobuf(body)
    if media not in ("", JSON_TYPE, "*/*"):
        raise _unsupported(media)
    obj = parse_json(body)
    if not isinstance(obj, dict):
        raise errors.bad_request("the request body must be a JSON object")
    return obj


def _unsupported(media: str) -> errors.StatusError:
    return errors.StatusError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        f'application/json; got "{media}"',
    )


def _parse_protobuf(body: bytes) -> dict[str, Any]:
    """kubectl's typed clients send protobuf; we read it for the kinds ``kubectl create`` makes."""
    try:
        return protobuf.decode(body)
    except LookupError as e:
        raise _unsupported(f"{protobuf.MEDIA_TYPE} for kind {e}") from e
    except ValueError as e:
        raise errors.bad_request(f"unable to decode protobuf body: {e}") from e


def selectors(rt: ResourceType, query: dict[str, str]) -> tuple[LabelSelector, FieldSelector]:
    try:
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), supported=rt.selectable)
    except ValueError as e:
        raise errors.bad_request(str(e)) from e
    return labels, fields


def _int_param(query: dict[str, str], name: str) -> int:
    raw = query.get(name, "")
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError as e:
        raise errors.bad_request(f"invalid {name} {raw!r}") from e


class Endpoints:
    """Request → Reply for every non-watch resource call."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry

    def resolve(self, path: ResourcePath) -> ResourceType:
        rt = self.registry.lookup(path.group, path.version, path.resource)
        if rt is None or (path.namespace and not rt.namespaced):
            raise errors.resource_not_served(f"/{path.group}/{path.version}/{path.resource}")
        if path.subresource and not (
            (path.subresource == "status" and rt.has_status)
            or (path.subresource == "binding" and rt.kind == "Pod" and rt.builtin)
        ):
            raise errors.resource_not_served(f"{path.resource}/{path.subresource}")
        return rt

    def handle(self, request: Request) -> Reply:
        path = request.path
        if path.resource == "bindings" and path.group == "" and request.method == "POST":
            return self._bind(path.namespace, parse_object(request.body))
        rt = self.resolve(path)
        method = request.method
        if path.subresource == "binding":
            if method != "POST":
                raise errors.method_not_allowed(f"{method} pods/binding")
            body = parse_object(request.body)
            body.setdefault("metadata", {})["name"] = path.name
            return self._bind(path.namespace, body)
        if not path.name:
            handlers: dict[str, Callable[[ResourceType, Request], Reply]] = {
                "GET": self._list,
                "POST": self._create,
                "DELETE": self._delete_collection,
            }
        else:
            handlers = {"GET": self._get, "PUT": self._update, "PATCH": self._patch, "DELETE": self._delete}
        handler = handlers.get(method)
        if handler is None or (method == "POST" and path.subresource):
            raise errors.method_not_allowed(f"{method} {path.resource}")
        return handler(rt, request)

    # --- verbs -----------------------------------------------------------------------------------

    def _object_reply(self, code: int, rt: ResourceType, stored: Stored, request: Request) -> Reply:
        if request.wants_table and request.method == "GET":
            rv = stored.obj["metadata"].get("resourceVersion", "")
            return Reply(
                code,
                dumps(
                    table.to_table(
                        rt,
                        [stored.obj],
                        resource_version=rv,
                        include_object=request.query.get("includeObject", "Metadata"),
                    )
                ),
            )
        return Reply(code, stored.raw)

    def _get(self, rt: ResourceType, request: Request) -> Reply:
        stored = self.store.get(rt, request.path.namespace, request.path.name)
        return self._object_reply(200, rt, stored, request)

    def _list(self, rt: ResourceType, request: Request) -> Reply:
        labels, fields = selectors(rt, request.query)
        start_after, snapshot = None, None
        if request.query.get("continue"):
            snapshot, start_after = decode_continue(request.query["continue"])
        page = self.store.list_objects(
            rt,
            request.path.namespace,
            labels=labels,
            fields=fields,
            limit=_int_param(request.query, "limit"),
            start_after=start_after,
            snapshot_rv=snapshot,
        )
        if request.wants_table:
            doc = table.to_table(
                rt,
                [s.obj for s in page.items],
                resource_version=str(page.resource_version),
                continue_token=page.continue_token,
                include_object=request.query.get("includeObject", "Metadata"),
            )
            return Reply(200, dumps(doc))
        metadata: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
        if page.continue_token:
            metadata["continue"] = page.continue_token
        if page.remaining is not None:
            metadata["remainingItemCount"] = page.remaining
        head = dumps({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": metadata})
        body = head[:-1] + b',"items":[' + b",".join(s.raw for s in page.items) + b"]}"
        return Reply(200, body)

    def _create(self, rt: ResourceType, request: Request) -> Reply:
        stored = self.store.create(
            rt, request.path.namespace, parse_object(request.body, request.content_type), dry_run=request.dry_run
        )
        return Reply(201, stored.raw)

    def _update(self, rt: ResourceType, request: Request) -> Reply:
        body = parse_object(request.body, request.content_type)
        path = request.path
        meta = body.get("metadata")
        if not rt.builtin and not (isinstance(meta, dict) and meta.get("resourceVersion")):
            # custom resources do not allow unconditional updates, as on the real server
            cause = errors.Cause(
                "FieldValueInvalid", "Invalid value: 0x0: must be specified for an update", "metadata.resourceVersion"
            )
            raise errors.invalid(subject(rt, path.name), [cause])
        stored = self.store.update(
            rt, path.namespace, path.name, body, subresource=path.subresource, dry_run=request.dry_run
        )
        return Reply(200, stored.raw)

    def _patch(self, rt: ResourceType, request: Request) -> Reply:
        content_type = request.content_type.split(";")[0].strip()
        patch_doc = parse_json(request.body)
        apply: Callable[[dict[str, Any]], Any]
        if content_type == MERGE_PATCH:
            if not isinstance(patch_doc, dict):
                raise errors.bad_request("a merge patch must be a JSON object")
            apply = lambda current: merge_patch(current, patch_doc)  # noqa: E731
        elif content_type == JSON_PATCH:
            apply = lambda current: json_patch(current, patch_doc)  # noqa: E731
        elif content_type == STRATEGIC_PATCH and rt.builtin:
            apply = lambda current: strategic_merge_patch(current, patch_doc)  # noqa: E731
        elif content_type == "application/apply-patch+yaml":
            message = "server-side apply is not supported by the fake API server; send a merge or JSON patch"
            raise errors.StatusError(415, "UnsupportedMediaType", message)
        else:
            raise errors.unsupported_media_type(content_type)

        def patched(current: dict[str, Any]) -> dict[str, Any]:
            try:
                result = apply(current)
            except MalformedPatch as e:
                raise errors.bad_request(str(e)) from e
            except PatchError as e:
                raise errors.StatusError(422, "Invalid", str(e)) from e
            if not isinstance(result, dict):
                raise errors.StatusError(422, "Invalid", "the patch produced something that is not an object")
            return result

        path = request.path
        stored = self.store.update(
            rt, path.namespace, path.name, patched, subresource=path.subresource, dry_run=request.dry_run
        )
        return Reply(200, stored.raw)

    def _delete_options(self, request: Request) -> DeleteOptions:
        options = parse_json(request.body) if request.body.strip() else {}
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise errors.bad_request("DeleteOptions must be a JSON object")
        policy = request.query.get("propagationPolicy") or options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is True:
            policy = "Orphan"
        policy = policy or "Background"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise errors.bad_request(f'propagationPolicy: Unsupported value: "{policy}"')
        preconditions = options.get("preconditions")
        grace: Any = request.query.get("gracePeriodSeconds") or options.get("gracePeriodSeconds")
        try:
            grace_period = None if grace in (None, "") else int(grace)
        except (TypeError, ValueError) as e:
            raise errors.bad_request(f"invalid gracePeriodSeconds {grace!r}") from e
        return DeleteOptions(
            propagation=policy,
            preconditions=preconditions if isinstance(preconditions, dict) else None,
            grace_period=grace_period,
        )

    def _delete(self, rt: ResourceType, request: Request) -> Reply:
        options = self._delete_options(request)
        path = request.path
        stored, gone = self.store.delete(
            rt,
            path.namespace,
            path.name,
            propagation=options.propagation,
            preconditions=options.preconditions,
            grace_period=options.grace_period,
            dry_run=request.dry_run,
        )
        return Reply(200 if gone else 202, stored.raw)

    def _delete_collection(self, rt: ResourceType, request: Request) -> Reply:
        options = self._delete_options(request)
        labels, fields = selectors(rt, request.query)
        page = self.store.list_objects(rt, request.path.namespace, labels=labels, fields=fields)
        deleted = []
        for stored in page.items:
            meta = stored.obj["metadata"]
            try:
                final, _ = self.store.delete(
                    rt,
                    meta.get("namespace", ""),
                    meta["name"],
                    propagation=options.propagation,
                    grace_period=options.grace_period,
                    dry_run=request.dry_run,
                )
            except errors.StatusError as e:
                if e.code == 404:
                    continue
                raise
            deleted.append(final.raw)
        head = dumps(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
            }
        )
        return Reply(200, head[:-1] + b',"items":[' + b",".join(deleted) + b"]}")

    def _bind(self, namespace: str, binding: dict[str, Any]) -> Reply:
        pod_type = self.registry.lookup("", "v1", "pods")
        assert pod_type is not None
        name = (binding.get("metadata") or {}).get("name") or ""
        target = binding.get("target") or {}
        node = target.get("name") if isinstance(target, dict) else None
        if not isinstance(node, str) or not node:
            raise errors.invalid(
                errors.Subject("bindings", "", "Binding", name),
                [errors.Cause("FieldValueRequired", "Required value", "target.name")],
            )

        def bound(pod: dict[str, Any]) -> dict[str, Any]:
            assigned = (pod.get("spec") or {}).get("nodeName")
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict(subject(pod_type, name), "pod is being deleted, cannot be assigned to a host")
            if assigned:
                raise errors.conflict(subject(pod_type, name), f'pod {name} is already assigned to node "{assigned}"')
            pod.setdefault("spec", {})["nodeName"] = node
            return pod

        self.store.update(pod_type, namespace, name, bound)
        return Reply(201, dumps(errors.success_status(201)))
