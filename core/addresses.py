"""Email addresses as received, and as we match them.

The local part is case-sensitive by RFC 5321 and kept as is; the domain is not, so it is
lowercased. Whitespace around the address (common in CSVs and SES headers) is trimmed.
"""

from __future__ import annotations

import re
from email.utils import getaddresses

from core.errors import InvalidAddress

# The longest address we store: a 64-character local part, "@" and a 255-character domain
# (RFC 5321's part limits). SMTP's path limit makes 254 the longest deliverable address, but
# a recipient SES reports is its record of what was sent, so we refuse only what no column
# or mailbox could hold.
MAX_ADDRESS_LENGTH = 320
# Inside a bare address: whitespace and the characters that belong to the
# display-name form around it. A quoted local part ("john doe"@x) is refused with them: SES
# reports none, and a fact's address must be comparable as plain text.
_NOT_IN_ADDRESS = re.compile(r'[\s<>()\[\],;:"\\]|[\ud800-\udfff]')

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


def bare_address(raw: object) -> str:
    """The bare address in a recipient field SES reports, as spelled there, or InvalidAddress.

    SES copies display-name forms (`"Jane Doe" <jane@example.com>`) into some fields; the
    stdlib's RFC 5322 parser takes the address out. What is left must be text holding exactly
    one address: exactly one "@", a non-empty local part and domain, at most
    MAX_ADDRESS_LENGTH characters, valid Unicode (no lone surrogates, which JSON escapes and
    CESU-8 bytes can carry). `normalise_address` gives the form it is matched by.
    """
    if not isinstance(raw, str):
        raise InvalidAddress(f"a recipient should be text, not {_kind(raw)}")
    text = raw.strip()
    if not text:
        raise InvalidAddress("a recipient address is empty")
    if _SURROGATE.search(text):
        raise InvalidAddress(f"recipient {_shown(text)} is not valid Unicode (a lone surrogate)")
    if len(text) > MAX_ADDRESS_LENGTH * 2:  # the parser is not fed megabytes
        raise InvalidAddress(f"recipient is longer than {MAX_ADDRESS_LENGTH} characters")
    address = _bare(text)
    if len(address) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(f"recipient is longer than {MAX_ADDRESS_LENGTH} characters")
    local, at, domain = address.partition("@")
    if not at or "@" in domain:
        raise InvalidAddress(f"recipient {_shown(text)} does not hold exactly one '@'")
    if not local or not domain:
        raise InvalidAddress(f"recipient {_shown(text)} lacks a local part or a domain")
    if _NOT_IN_ADDRESS.search(address):
        raise InvalidAddress(f"recipient {_shown(text)} is not one bare email address")
    return address


def _bare(text: str) -> str:
    if not _NOT_IN_ADDRESS.search(text):
        return text  # already bare: the common case, and nothing for the parser to undo
    found = getaddresses([text])
    if len(found) != 1:
        raise InvalidAddress(f"recipient {_shown(text)} holds {len(found)} addresses, not one")
    address = found[0][1].strip()
    # The parser repairs what it cannot read (`a@b.c junk` -> `a@b.cjunk`): only an address
    # that stands in the text as written, in angle brackets if there are any, is taken.
    if address not in text or ("<" in text and f"<{address}>" not in text):
        raise InvalidAddress(f"recipient {_shown(text)} is not one bare email address")
    return address


_SURROGATE = re.compile("[\ud800-\udfff]")


def _shown(text: str) -> str:
    """`text` quoted for a reason, clipped and with surrogates escaped so it can be stored."""
    clipped = text if len(text) <= 80 else f"{text[:77]}..."
    return ascii(clipped) if _SURROGATE.search(clipped) else repr(clipped)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


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
