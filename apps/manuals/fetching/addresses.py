"""Which network addresses a manual may be fetched from.

A vendor URL is untrusted input: its host may resolve, directly or through an embedding
trick, to this machine or the private network around it. Every address a name resolves to
must be public, and the connection then goes to that checked address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses the host resolves to, as strings.
Resolver = Callable[[str, int], Sequence[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Special-purpose ranges (IANA registries) that `is_global` lets through on some Python
# versions, or that are not a vendor's web server even where they are routable.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "100.64.0.0/10",  # carrier-grade NAT: the operator's network, not the internet
        "192.0.0.0/24",  # IETF protocol assignments (Python exempts .9 and .10)
        "192.88.99.0/24",  # 6to4 relay anycast, deprecated: a relay's inside
        "198.18.0.0/15",  # benchmarking
        "64:ff9b:1::/48",  # local-use NAT64
        "fec0::/10",  # site-local, deprecated but still routed inside some sites
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 segment identifiers
        "2001::/23",  # IETF protocol assignments, Teredo included
    )
)


class AddressRefused(Exception):
    """The host resolves to an address we must not connect to."""


class ResolutionFailed(Exception):
    """The host name does not resolve."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionFailed(host) from exc
    seen: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        seen[str(sockaddr[0]).split("%", 1)[0]] = None
    return list(seen)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses carried inside an IPv6 one, which a gateway may route to."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def is_public(ip: IPAddress) -> bool:
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return False
    if any(ip.version == network.version and ip in network for network in _NOT_PUBLIC):
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return True
    return all(is_public(inner) for inner in _embedded_ipv4(ip))


def _split_host_port(entry: str) -> tuple[str, str]:
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else ""
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, ""


def parse_allowed_hosts(entries: Sequence[str]) -> frozenset[tuple[str, int | None]]:
    """`host:port` pairs from MANUAL_FETCH_ALLOWED_HOSTS; a bare host means the web ports.

    `host:*` allows every port of that host, for a test server on an ephemeral port: it has to
    be written out, because an allowed host on every port reaches its Redis and SSH too.
    """
    allowed: set[tuple[str, int | None]] = set()
    for entry in entries:
        host, port = _split_host_port(entry)
        host = host.rstrip(".")
        if not host:
            raise ValueError(f"allowed fetch host {entry!r} has no host")
        if port == "*":
            allowed.add((host, None))
        elif not port:
            allowed.update({(host, 80), (host, 443)})
        elif port.isdigit() and 0 < int(port) < 65536:
            allowed.add((host, int(port)))
        else:
            raise ValueError(f"allowed fetch host {entry!r}: the port must be 1-65535 or *")
    return frozenset(allowed)


def host_allowed(host: str, port: int, allowed: frozenset[tuple[str, int | None]]) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    return (name, port) in allowed or (name, None) in allowed


def checked_addresses(
    host: str,
    port: int,
    *,
    resolver: Resolver,
    allowed_hosts: frozenset[tuple[str, int | None]],
) -> list[str]:
    """Resolve `host` and return its addresses, refusing the lot if any of them is not public.

    One bad address is enough to refuse: a name that also resolves to a private address is
    a rebinding attempt waiting for the right moment.
    """
    name = host.strip("[]").rstrip(".").lower()
    try:
        addresses = [str(ipaddress.ip_address(name))]
    except ValueError:
        addresses = list(resolver(name, port))
    if not addresses:
        raise ResolutionFailed(host)
    if host_allowed(name, port, allowed_hosts):
        return addresses
    for address in addresses:
        if not is_public(ipaddress.ip_address(address.split("%", 1)[0])):
            raise AddressRefused(f"{host} resolves to {address}")
    return addresses
