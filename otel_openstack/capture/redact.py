"""Redaction at capture time, so that no secret leaves the process in clear.

Tokens become a stable digest rather than ``***``: the same token always maps
to the same digest, so a reader can still follow one token from the response
that issued it (``X-Subject-Token``) to every request that used it
(``X-Auth-Token``).  The digest is keystoneauth's own (``{SHA256}<hex>``), so
it also matches keystoneauth's debug log.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any, Iterable, Sequence

#: Header values that are credentials (compared lower-case).
SECRET_HEADERS = frozenset({
    "x-auth-token",
    "x-subject-token",
    "x-service-token",
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-storage-token",  # swift's alias of X-Auth-Token
    "x-auth-key",  # swift tempauth
    "x-amz-security-token",
})

#: JSON object keys whose values are secrets (compared lower-case).
SECRET_FIELDS = frozenset({
    "password",
    "original_password",
    "new_password",
    "adminpass",
    "admin_pass",
    "secret",
    "blob",  # keystone credentials (EC2 access/secret pairs)
    "passcode",  # TOTP
    "private_key",
    "client_secret",
    "access_token",
    "refresh_token",
    "auth_token",
})

MASK = "***"

#: CLI options whose value is a secret (``--opt VALUE`` and ``--opt=VALUE``).
SECRET_OPTIONS = frozenset({
    "--os-password",
    "--password",
    "--os-token",
    "--token",
    "--os-application-credential-secret",
    "--application-credential-secret",
    "--os-client-secret",
    "--os-passcode",
    "--passcode",
    "--secret",
    "--os-access-secret",
    "--os-service-token",
})


def digest(value: str) -> str:
    """Stable, one-way stand-in for a token: keystoneauth's ``{SHA256}`` form."""
    return "{SHA256}" + hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


#: Raw secret values this process has redacted, so free text (the CLI's own
#: output: ``openstack token issue`` prints a token) can be scrubbed of them.
_seen: dict[str, str] = {}
_SEEN_MAX = 4096
_MIN_SECRET = 8  # shorter values would scrub ordinary words


def remember(value: str, replacement: str) -> None:
    if len(value) >= _MIN_SECRET and len(_seen) < _SEEN_MAX:
        _seen[value] = replacement


def scrub(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """``text`` with every remembered secret (and ``extra_secrets``) replaced.

    Tokens become their digest, as in the headers; other secrets ``***``.
    Longest first, so a secret containing another is replaced whole.
    """
    pairs = dict(_seen)
    for secret in extra_secrets:
        if secret and len(secret) >= 4:
            pairs.setdefault(secret, MASK)
    for secret in sorted(pairs, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, pairs[secret])
    return text


@functools.lru_cache(maxsize=64)
def secret_header_names(extra: tuple[str, ...] = ()) -> frozenset[str]:
    """Lower-case names of the headers whose values are digested (built-in plus ``extra``)."""
    return SECRET_HEADERS | {e.lower() for e in extra}


#: value -> digest of the secret header values already seen (a service sees the
#: same few tokens over and over); bounded, and remembered (``remember``) on first sight.
_digested: dict[str, str] = {}
_DIGESTED_MAX = 4096


def redact_secret_value(value: str) -> str:
    """The digest that stands for a secret header's value; remembers the value for ``scrub``."""
    hashed = _digested.get(value)
    if hashed is not None:
        return hashed
    hashed = digest(value)
    remember(value, hashed)
    scheme, _, credential = value.partition(" ")  # "Bearer <token>"
    if credential:
        remember(credential, hashed)
    if len(_digested) >= _DIGESTED_MAX:
        _digested.clear()
    _digested[value] = hashed
    return hashed


def redact_header(name: str, value: str, extra: Iterable[str] = ()) -> str:
    if name.lower() in secret_header_names(tuple(extra)):
        return redact_secret_value(value)
    return value


def redact_json(document: Any, extra_fields: Iterable[str] = ()) -> Any:
    """A copy of ``document`` with secret fields masked and token ids digested.

    ``{"token": {"id": "<token>"}}`` (keystone's token-method auth and token
    responses of old APIs) gets the same digest as the header would, so the
    token stays traceable.
    """
    secret = SECRET_FIELDS | {f.lower() for f in extra_fields}

    def walk(node: Any, parent_key: str | None) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                lowered = str(key).lower()
                if lowered in secret and value is not None and not isinstance(value, (dict, list)):
                    out[key] = MASK
                elif lowered in secret and isinstance(value, (dict, list)):
                    # e.g. {"password": {"user": {"name": ..., "password": ...}}}:
                    # keep the structure, which documents the request; the
                    # secret leaves inside carry secret names themselves.
                    out[key] = walk(value, lowered)
                elif parent_key == "token" and lowered == "id" and isinstance(value, str):
                    out[key] = digest(value)
                else:
                    out[key] = walk(value, lowered)
            return out
        if isinstance(node, list):
            return [walk(item, parent_key) for item in node]
        return node

    return walk(document, None)


def redact_json_text(text: str, extra_fields: Iterable[str] = ()) -> str:
    """Redact a JSON body; text that is not JSON is returned unchanged.

    The result is compact JSON: renderers pretty-print it, and compact keeps
    span attributes small.
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return text
    extra = tuple(extra_fields)
    if _may_hold_secrets(text, extra):
        document = redact_json(document, extra)
    return _compact(document)


_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@functools.lru_cache(maxsize=64)
def _json_needles(extra: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(SECRET_FIELDS | {f.lower() for f in extra} | {"token"}))


def _may_hold_secrets(text: str, extra: tuple[str, ...]) -> bool:
    """False when no key of the JSON ``text`` can be a secret field or ``token``: redact_json would copy it unchanged.

    Keys are compared lower-case, and lower-casing is per character, so a
    key that lower-cases to a secret name shows that name in the lower-cased
    text; unless it is spelt with escapes, hence any backslash means maybe.
    """
    if "\\" in text:
        return True
    lowered = text.lower()
    return any(needle in lowered for needle in _json_needles(extra))


def redact_form_text(text: str, extra_fields: Iterable[str] = ()) -> str:
    """Mask secret fields of an ``application/x-www-form-urlencoded`` body.

    OAuth/OIDC token requests (keystone federation, ``v3oidcpassword``) send
    ``password=...&client_secret=...`` this way.
    """
    from urllib.parse import parse_qsl, urlencode

    secret = SECRET_FIELDS | {f.lower() for f in extra_fields}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return text
    if not any(key.lower() in secret for key, _ in pairs):
        return text
    return urlencode([(key, MASK if key.lower() in secret else value) for key, value in pairs], safe="*")


def redact_argv(argv: Sequence[str]) -> list[str]:
    """CLI arguments with the values of secret options masked."""
    out: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        option, sep, _ = arg.partition("=")
        if option in SECRET_OPTIONS:
            if sep:
                out.append(f"{option}={MASK}")
            else:
                out.append(arg)
                mask_next = True
            continue
        out.append(arg)
    return out
