"""Personal data sealed per report, and keyed fingerprints for comparison without disclosure.

Each report has its own random 256-bit data key. The key is stored only wrapped by the
master key (AES-GCM) in intake's key store; destroying it crypto-shreds every copy of
that report's personal data on every topic.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import unicodedata
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.events.base import canonical_json
from shared.events.reports import Sealed


class KeyDestroyed(LookupError):
    """The report's data key no longer exists: its personal data is gone for good."""


class SealBroken(ValueError):
    pass


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_key(master_key: bytes, data_key: bytes, report_id: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(master_key).encrypt(nonce, data_key, b"vigil-dk:" + report_id.encode())


def unwrap_key(master_key: bytes, wrapped: bytes, report_id: str) -> bytes:
    try:
        return AESGCM(master_key).decrypt(wrapped[:12], wrapped[12:], b"vigil-dk:" + report_id.encode())
    except InvalidTag as e:
        raise SealBroken("data key does not unwrap with this master key") from e


def seal(data_key: bytes, report_id: str, fields: dict[str, Any]) -> Sealed:
    nonce = os.urandom(12)
    plaintext = canonical_json(fields)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, report_id.encode())
    return Sealed(nonce=_b64(nonce), ciphertext=_b64(ciphertext))


def open_sealed(data_key: bytes, report_id: str, sealed: Sealed) -> dict[str, Any]:
    try:
        plaintext = AESGCM(data_key).decrypt(_unb64(sealed.nonce), _unb64(sealed.ciphertext), report_id.encode())
    except InvalidTag as e:
        raise SealBroken("personal data does not open with this key") from e
    result: dict[str, Any] = json.loads(plaintext)
    return result


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _unb64(s: str) -> bytes:
    return base64.b64decode(s)


def keyed_token(key: bytes, purpose: str, *parts: str, n_bytes: int = 24) -> str:
    """A secret that can be made again instead of kept: URL-safe HMAC-SHA256 of `parts` under `key`.

    Whoever lacks the key cannot tell it from random; whoever holds it gets the same token from the same
    parts. Intake answers a replayed submission with the same follow-up token this way, keeping no copy.
    """
    message = "\x00".join((purpose, *parts)).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:n_bytes]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Fingerprinter:
    """HMAC-SHA256 of normalised values, so equal contacts and places compare equal."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def contact(self, email: str | None, phone: str | None) -> str | None:
        """Read by tests and old data only: since #15 a contact's hash never travels (intake matches it)."""
        identity = contact_identity(email, phone)
        return self._mac(*identity.split(":", 1)) if identity else None

    def place(self, area: str, place_name: str | None) -> str | None:
        if not place_name or not normalise_text(place_name):
            return None
        return self._mac("place", f"{area}|{normalise_text(place_name)}")

    def source(self, bucket: str | None) -> str | None:
        """Where a report came from: no longer published (#15), kept so tests can look for it on topics."""
        return self._mac("source", bucket) if bucket else None

    def district(self, outward_code: str | None) -> str | None:
        """A postcode's district: no longer published (#15; the district travels in clear, never for a home)."""
        return self._mac("district", outward_code.upper()) if outward_code else None

    def content(self, text: str | None) -> str | None:
        """The normalised description: no longer published (#15; intake matches words in its own tables)."""
        normalised = normalise_text(text or "")
        return self._mac("content", normalised) if normalised else None


def contact_identity(email: str | None, phone: str | None) -> str | None:
    """What makes two contacts the same: the normalised email, else the normalised phone number."""
    if email:
        return f"email:{normalise_email(email)}"
    if phone and normalise_phone(phone):
        return f"phone:{normalise_phone(phone)}"
    return None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("44"):
        digits = "0" + digits[2:]
    return digits


def normalise_text(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", folded).split())
