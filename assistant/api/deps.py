"""Dependencies shared by the routers: the one Assistant, settings, metrics, authentication and rate limits.

API keys come from ``Settings.api_keys`` and are kept only as SHA-256 digests; a presented key is hashed and
compared with every stored digest through :func:`hmac.compare_digest`, so neither the plain keys nor timing
reveal anything. ``reader`` may use the reading endpoints (open to everyone when ``open_read`` is on), ``admin``
may also change the index. Rate limiting runs *before* the key check so guessing keys is throttled too.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from assistant.api.errors import ApiError
from assistant.api.metrics import ApiMetrics
from assistant.api.ratelimit import TokenBucketLimiter
from assistant.assistant import Assistant
from assistant.config import Settings

Role = Literal["reader", "admin"]
ROLES: tuple[Role, ...] = ("reader", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: ``role`` None = anonymous; ``key_id`` is a digest prefix (a rate-limit bucket name)."""

    role: Role | None = None
    key_id: str | None = None
    invalid_key: bool = False


class KeyRing:
    """Configured API keys as digests → role."""

    def __init__(self, spec: str) -> None:
        self._entries: list[tuple[bytes, Role]] = []
        for n, raw in enumerate(p.strip() for p in spec.split(",")):
            if not raw:
                continue
            secret, sep, role = raw.rpartition(":")
            if not sep or not secret or role not in ROLES:
                # Never echo the entry: it holds a key.
                raise ValueError(f"KK_API_KEYS entry {n + 1} must be 'key:reader|admin' or 'sha256:<hex>:role'")
            if secret.startswith("sha256:") and len(secret) == 7 + 64:
                digest = bytes.fromhex(secret[7:])
            else:
                digest = hashlib.sha256(secret.encode()).digest()
            self._entries.append((digest, role))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: str) -> tuple[Role, str] | None:
        """(role, key id) of a presented key, or None. Checks every entry: time does not depend on which matched."""
        digest = hashlib.sha256(key.encode()).digest()
        found: Role | None = None
        for stored, role in self._entries:
            if hmac.compare_digest(stored, digest):
                found = role
        return (found, digest.hex()[:12]) if found else None


_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Kunci API (peran reader atau admin).")
_bearer = HTTPBearer(auto_error=False, description="Alternatif: `Authorization: Bearer <kunci API>`.")


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


async def get_principal(request: Request, key: str | None = Security(_api_key),
                        bearer: HTTPAuthorizationCredentials | None = Security(_bearer)) -> Principal:
    presented = key or (bearer.credentials if bearer else None)
    if not presented:
        return Principal()
    keyring: KeyRing = request.app.state.keyring
    found = keyring.lookup(presented)
    if found is None:
        return Principal(invalid_key=True)
    return Principal(role=found[0], key_id=found[1])


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _rate_limit(request: Request, who: Principal) -> None:
    limiter: TokenBucketLimiter = request.app.state.limiter
    wait = limiter.acquire(f"key:{who.key_id}" if who.key_id else f"ip:{_client_ip(request)}")
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(429, "rate_limited",
                       f"Terlalu banyak permintaan. Silakan coba lagi dalam {seconds} detik.",
                       {"Retry-After": str(seconds)})


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="kota-kreatif"'})


async def require_reader(request: Request, who: Principal = Depends(get_principal)) -> Principal:
    """Reading endpoints: a valid key, or nobody at all when ``open_read`` is on."""
    _rate_limit(request, who)
    if who.invalid_key:
        raise _unauthorized("Kunci API tidak valid.")
    if who.role is None and not get_settings(request).open_read:
        raise _unauthorized("Kunci API diperlukan (header X-API-Key atau Authorization: Bearer).")
    return who


async def require_admin(request: Request, who: Principal = Depends(get_principal)) -> Principal:
    """Admin endpoints: never open, whatever ``open_read`` says."""
    _rate_limit(request, who)
    if who.invalid_key:
        raise _unauthorized("Kunci API tidak valid.")
    if who.role is None:
        raise _unauthorized("Kunci API dengan peran admin diperlukan.")
    if who.role != "admin":
        raise ApiError(403, "forbidden", "Kunci API ini berperan 'reader'; tindakan ini memerlukan peran 'admin'.")
    return who
