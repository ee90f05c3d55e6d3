"""Email addresses as received, and as we match them.

The local part is case-sensitive by RFC 5321 and kept as is; the domain is not, so it is
lowercased. Whitespace around the address (common in CSVs and SES headers) is trimmed.
"""

from __future__ import annotations

import re

# Deliberately permissive: SES accepted the address, so we only reject what cannot be one.
_ADDRESS = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_ANGLE = re.compile(r"<([^<>]+)>\s*$")


def normalise_address(raw: str) -> str:
    """The form used for matching: trimmed, domain lowercased (an IDN domain stays Unicode)."""
    address = raw.strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local}@{domain.lower()}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def is_valid_address(raw: str) -> bool:
    """Whether `raw` looks like a deliverable address (used to validate operator input)."""
    address = raw.strip()
    return len(address) <= 254 and bool(_ADDRESS.match(address))


def address_from_header(value: str) -> str:
    """`Sender Name <sender@example.com>` -> `sender@example.com`; a bare address unchanged."""
    match = _ANGLE.search(value)
    return (match.group(1) if match else value).strip()
