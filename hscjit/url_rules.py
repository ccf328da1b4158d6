"""What makes a web address acceptable (a manual's, a product page's), checked the same way
at every door.

It lives here, below the apps, because the catalog's importer checks its product and
document addresses with it and the manuals' fetcher checks every redirect hop with it.
The importer, the admin and the fetcher call `check_url`, so a
malformed address is refused where it enters, with one wording, instead of failing later as
an error on our side. `reserved_host` is the catalog's extra rule: names reserved for
examples, tests and this machine can never serve a vendor's manual.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import SplitResult, urlsplit

import idna

MAX_URL_LENGTH = 1000
_MAX_HOST_LENGTH = 253
# A label of a host name as DNS and browsers take it (underscores occur in real CDN names).
_ASCII_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
# Browsers read a host whose last label is a number (decimal, octal, hex) as an IPv4 address
# in one of the old shorthand forms: 0177.0.0.1, 2130706433 and 0x7f.1 all mean 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
# RFC 2606 and RFC 6761 names.
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "invalid", "test", "localhost")


class InvalidUrl(ValueError):
    """`reason` is a verb phrase about the address: "is longer than 1,000 characters"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_url(url: str) -> str:
    """`url` without surrounding spaces when it is an http(s) address we may fetch.

    Raises InvalidUrl saying what is wrong. Nothing is resolved or fetched here.
    """
    url = url.strip()
    if not url:
        raise InvalidUrl("is empty")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrl(f"is longer than {MAX_URL_LENGTH:,} characters")
    # urlsplit silently drops tabs and line breaks, so they are looked for first.
    if any(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf"} for ch in url):
        raise InvalidUrl("contains a space, a line break or another control character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidUrl(_split_reason(error)) from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise InvalidUrl("is not an http or https link")
    if not parts.hostname:
        raise InvalidUrl("has no host name")
    if parts.username is not None or parts.password is not None:
        raise InvalidUrl("contains a user name or password")
    if port == 0:
        raise InvalidUrl("has port 0")
    _check_host(parts)
    return url


def reserved_host(url: str) -> bool:
    """The host is reserved for examples, tests or this machine (localhost)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == name or host.endswith("." + name) for name in _RESERVED_DOMAINS) or any(
        host == tld or host.endswith("." + tld) for tld in _RESERVED_TLDS
    )


RESERVED_REASON = "names a host reserved for examples, tests or this machine"


def check_catalog_url(url: str) -> str:
    """`check_url`, and a reserved host is refused too: what staff and the importer may link."""
    checked = check_url(url)
    if reserved_host(checked):
        raise InvalidUrl(RESERVED_REASON)
    return checked


def catalog_url_problem(value: object) -> str | None:
    """Why `value` cannot be a manual's address (importer rows, admin forms), or None."""
    if not isinstance(value, str):
        return "is not text"
    try:
        check_catalog_url(value)
    except InvalidUrl as error:
        return error.reason
    return None


def _split_reason(error: ValueError) -> str:
    if "port" in str(error).lower():
        return "has a port that is not a number from 1 to 65535"
    return "is not a well-formed address"


def _check_host(parts: SplitResult) -> None:
    netloc_host = parts.netloc.rpartition("@")[2]
    if netloc_host.startswith("["):
        literal = netloc_host[1:].partition("]")[0]
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            raise InvalidUrl("has an IPv6 address that is not valid") from None
        return
    host = (parts.hostname or "").rstrip(".")
    if not host or len(host) > _MAX_HOST_LENGTH:
        raise InvalidUrl("has a host name that is empty or too long")
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise InvalidUrl(
                "writes an IP address in a shorthand form (octal, hex or fewer than four "
                "numbers) that browsers and servers read differently"
            ) from None
        return
    if host.isascii():
        if not all(_ASCII_LABEL.fullmatch(label) for label in labels):
            raise InvalidUrl("has a host name with characters that are not allowed")
        return
    try:
        # IDNA 2008 without the compatibility mapping: full-width and look-alike letters
        # are refused rather than quietly folded into another host's name.
        idna.encode(host)
    except idna.IDNAError:
        raise InvalidUrl(
            "has a host name with characters that are not allowed in a domain name"
        ) from None
