"""TC3-HMAC-SHA256 request verification, as the real API gateway does it.

The signer (the SDK) hashes a canonical request (method, path, query, the signed headers lowercased,
the payload hash) into a string to sign with the timestamp and credential scope
``<date>/<service>/tc3_request``, and HMACs it with a key derived from ``"TC3" + SecretKey``, the date
and the service. We recompute the same and compare in constant time. The service in the scope is what
tells VPC from CVM (both are version 2017-03-12).

Never logs secrets or signatures; never accepts a request it could not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ApiError

ALGORITHM = "TC3-HMAC-SHA256"
MAX_CLOCK_SKEW = 300  # seconds either way, like the real gateway


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of an HTTP request that the signature covers. Header names are lowercase."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Caller:
    secret_id: str
    service: str


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signature(secret_key: str, *, date: str, service: str, string_to_sign: str) -> str:
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_signing = _hmac(_hmac(k_date, service), "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _parse_authorization(value: str) -> tuple[str, str, str, list[str], str]:
    """(secret id, date, service, signed header names, signature) or AuthFailure.InvalidAuthorization."""
    bad = ApiError("AuthFailure.InvalidAuthorization", "The Authorization header is malformed.")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise bad
    parts: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            raise bad
        parts[key] = val
    scope = parts.get("Credential", "").split("/")
    if len(scope) != 4 or scope[3] != "tc3_request" or "SignedHeaders" not in parts or "Signature" not in parts:
        raise bad
    signed = parts["SignedHeaders"].split(";")
    return scope[0], scope[1], scope[2], signed, parts["Signature"]


def verify(
    req: SignedRequest, secrets: Mapping[str, str], *, services: tuple[str, ...], now: float | None = None
) -> Caller:
    """Return who signed ``req`` for which service, or raise the real ``AuthFailure.*`` error."""
    auth = req.headers.get("authorization")
    if not auth:
        raise ApiError("AuthFailure.SignatureFailure", "The request has no Authorization header.")
    secret_id, date, service, signed_headers, claimed = _parse_authorization(auth)
    if service not in services:
        raise ApiError("AuthFailure.InvalidAuthorization", f"The service `{service}` is not served here.")
    if "content-type" not in signed_headers or "host" not in signed_headers:
        raise ApiError("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.")
    stamp = req.headers.get("x-tc-timestamp", "")
    if not stamp.isdigit():
        raise ApiError("MissingParameter", "The request is missing a valid X-TC-Timestamp header.")
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > MAX_CLOCK_SKEW:
        raise ApiError("AuthFailure.SignatureExpire", "The request signature expired (check the client clock).")
    secret_key = secrets.get(secret_id)
    if secret_key is None:
        raise ApiError("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    if time.strftime("%Y-%m-%d", time.gmtime(int(stamp))) != date:
        raise ApiError("AuthFailure.SignatureFailure", "The credential scope date does not match X-TC-Timestamp.")
    canonical_headers = "".join(f"{h}:{req.headers.get(h, '').strip().lower()}\n" for h in signed_headers)
    if req.headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
        payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
    else:
        payload_hash = hashlib.sha256(req.body if req.method == "POST" else b"").hexdigest()
    canonical = "\n".join(
        [req.method, req.path, req.query, canonical_headers, ";".join(signed_headers), payload_hash]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, stamp, f"{date}/{service}/tc3_request", hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    expected = signature(secret_key, date=date, service=service, string_to_sign=string_to_sign)
    if not hmac.compare_digest(expected, claimed):
        raise ApiError("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    return Caller(secret_id, service)


def sign_headers(
    *, secret_id: str, secret_key: str, service: str, host: str, action: str, body: bytes,
    region: str = "", timestamp: int | None = None, version: str = "2017-03-12",
) -> dict[str, str]:
    """Headers for a signed POST JSON request (raw-HTTP tests and the benchmark use this)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    date = time.strftime("%Y-%m-%d", time.gmtime(stamp))
    content_type = "application/json"
    canonical = "\n".join([
        "POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
        hashlib.sha256(body).hexdigest(),
    ])
    string_to_sign = "\n".join(
        [ALGORITHM, str(stamp), f"{date}/{service}/tc3_request", hashlib.sha256(canonical.encode()).hexdigest()]
    )
    sig = signature(secret_key, date=date, service=service, string_to_sign=string_to_sign)
    headers = {
        "Content-Type": content_type,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": str(stamp),
        "Authorization": f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={sig}",
    }
    if region:
        headers["X-TC-Region"] = region
    return headers
