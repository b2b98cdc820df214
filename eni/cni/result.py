"""CNI result documents in the shape each supported spec version expects.

1.0.0 drops the ``version`` field of ``ips`` entries that 0.3.x/0.4.0 require; everything else we emit is
common to all of them. Must never: import anything outside the standard library (Python >= 3.8).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional


def ip_entry(cni_version: str, address: str, gateway: str, interface: Optional[int]) -> Dict[str, Any]:
    entry: Dict[str, Any] = {"address": address}
    if gateway:
        entry["gateway"] = gateway
    if interface is not None:
        entry["interface"] = interface
    if cni_version.startswith("0."):
        entry["version"] = "4"
    return entry


def routes_of(ip_config: Dict[str, Any], *, with_gateway: bool) -> List[Dict[str, str]]:
    routes = []
    for route in ip_config.get("routes") or []:
        out = {"dst": route.get("dst", "")}
        gw = route.get("gw") or (ip_config.get("gateway", "") if with_gateway else "")
        if gw:
            out["gw"] = gw
        routes.append(out)
    return routes


def add_result(cni_version: str, reply: Dict[str, Any], dns: Dict[str, Any]) -> Dict[str, Any]:
    """The result of tke-route-eni's ADD from the agent's AddReply: [host veth, pod interface], the IP, routes."""
    host = reply.get("host") or {}
    container = reply.get("container") or {}
    ip_config = reply.get("ip") or {}
    result: Dict[str, Any] = {
        "cniVersion": cni_version,
        "interfaces": [
            {"name": host.get("name", ""), "mac": host.get("mac", "")},
            {"name": container.get("name", ""), "mac": container.get("mac", ""),
             "sandbox": container.get("sandbox", "")},
        ],
        "ips": [ip_entry(cni_version, ip_config.get("address", ""), ip_config.get("gateway", ""), 1)],
        "routes": routes_of(ip_config, with_gateway=True),
    }
    if dns:
        result["dns"] = dns
    return result


def ipam_result(cni_version: str, reply: Dict[str, Any], dns: Dict[str, Any]) -> Dict[str, Any]:
    """The result of tke-eni-ipamc's ADD from the agent's AllocateReply: IPs and routes, no interfaces."""
    ip_config = reply.get("ip") or {}
    result: Dict[str, Any] = {
        "cniVersion": cni_version,
        "ips": [ip_entry(cni_version, ip_config.get("address", ""), ip_config.get("gateway", ""), None)],
        "routes": routes_of(ip_config, with_gateway=False),
    }
    if dns:
        result["dns"] = dns
    return result
