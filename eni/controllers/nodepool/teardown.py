"""Node removal: detach and delete the node's ENIs, forget its IPs, delete its NodeENIConfig.

Runs only when the Node is gone or being deleted, so no pod can hold the IPs any more; deleting an
ENI returns its IPs to the subnet. In static-IP mode (``kept`` given) an exclusive ENI kept for its static
pod (delete policy Never) is detached and kept instead, so the next pod of that name gets it on another
node; in non-static mode no pod would get it again, so it is deleted like the others. Every step is
idempotent so an interrupted teardown simply runs again. Never touches an ENI that has no VpcENI of
this node.
"""

from __future__ import annotations

from datetime import datetime

from eni.api.v1 import NODE_ENI_CONFIG, EniType
from eni.controllers.directeni.keep import KeptEnis, being_kept, keeps
from eni.controllers.eni.lifecycle import EniLifecycle
from eni.controllers.eni.records import Records
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.interfaces import Client
from eni.runtime.meta import ObjectKey


def teardown(node: str, *, records: Records, enis: EniLifecycle, client: Client, kept: KeptEnis | None,
             now: datetime) -> None:
    for record in records.enis_of(node):
        if kept is not None and record.spec.type is EniType.DIRECT and (being_kept(record) or keeps(record)):
            kept.keep(record, instance_id=record.spec.instance_id, now=now)
        else:
            enis.remove(record.name, record.spec.instance_id)
    for ip in records.ips_of(node):  # all gone with their ENIs, bar one the cloud has handed out again since
        records.forget_ips([ip.name], eni_id=ip.spec.eni_id)
    try:
        client.delete(NODE_ENI_CONFIG, ObjectKey(namespace="", name=node))
    except NotFoundError:
        pass
