"""Password hashing (argon2id), access tokens (JWT, HS256) and API key material."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets as pysecrets
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
#: Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")

API_KEY_PREFIX = "ek"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; constant work whether or not the user exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    """What a valid access token says: the user, the token version it was issued under and,
    when the issuer put it there, the principal (role, site, pools) so a request need not load it."""

    user_id: int
    version: int
    role: str | None = None
    site_id: int | None = None
    pools: tuple[str, ...] = ()


def issue_token(user_id: int, key: str, minutes: int, now: dt.datetime, *, version: int = 0,
                role: str | None = None, site_id: int | None = None,
                pools: tuple[str, ...] | list[str] = ()) -> tuple[str, dt.datetime]:
    """A signed access token for ``user_id`` valid for ``minutes``; returns (token, expiry).

    ``version`` is the user's ``token_version`` now: bumping it later refuses this token.
    ``role``/``site_id``/``pools`` (all or none) carry the principal; a user's role, site
    and pools never change in place, so only the version needs checking per request.
    """
    exp = now + dt.timedelta(minutes=minutes)
    claims: dict[str, object] = {"sub": str(user_id), "iat": int(now.timestamp()), "exp": int(exp.timestamp()),
                                 "typ": "access", "ver": version}
    if role is not None and site_id is not None:
        claims.update(role=role, site=site_id, pools=list(pools))
    return jwt.encode(claims, key, algorithm="HS256"), exp


#: Tokens already verified: (key, token) -> (expiry, claims). A client sends the same token on
#: every request; decoding it again (base64, JSON, HMAC, claim checks) cost ~0.3 ms per request.
#: The expiry is still checked on every use; bounded by clearing when full.
_VERIFIED: dict[tuple[str, str], tuple[float, TokenClaims]] = {}
_VERIFIED_MAX = 10_000


def read_access_token(token: str, key: str) -> TokenClaims | None:
    """The claims of a valid, unexpired access token, else None (verified once, then remembered)."""
    hit = _VERIFIED.get((key, token))
    if hit is not None:
        if hit[0] > time.time():
            return hit[1]
        _VERIFIED.pop((key, token), None)
        return None
    decoded = _decode_access_token(token, key)
    if decoded is not None:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[(key, token)] = decoded
        return decoded[1]
    return None


def _decode_access_token(token: str, key: str) -> tuple[float, TokenClaims] | None:
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    try:
        user_id, version, exp = int(claims["sub"]), int(claims.get("ver", 0)), float(claims["exp"])
        role, site, pools = claims.get("role"), claims.get("site"), claims.get("pools")
        if isinstance(role, str) and isinstance(site, int) and isinstance(pools, list):
            return exp, TokenClaims(user_id, version, role, site, tuple(str(p) for p in pools))
        return exp, TokenClaims(user_id, version)
    except (TypeError, ValueError):
        return None


def read_token(token: str, key: str) -> int | None:
    """The user id in a valid, unexpired token, else None."""
    claims = read_access_token(token, key)
    return claims.user_id if claims else None


@dataclass(frozen=True)
class NewApiKey:
    """A freshly minted key: ``token`` is shown once to the admin; only the hash is stored."""

    prefix: str
    token: str
    secret_hash: str


def mint_api_key() -> NewApiKey:
    prefix = pysecrets.token_hex(6)
    secret = pysecrets.token_urlsafe(32)
    return NewApiKey(prefix, f"{API_KEY_PREFIX}_{prefix}_{secret}", _sha256(secret))


def split_api_key(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def api_key_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(_sha256(secret), secret_hash)


def _sha256(secret: str) -> str:
    # API key secrets are 256-bit random: a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(secret.encode()).hexdigest()
