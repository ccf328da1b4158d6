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
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SHARED_V4 = ipaddress.ip_network("100.64.0.0/10")


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
    if isinstance(ip, ipaddress.IPv4Address):
        return ip not in _SHARED_V4
    if ip in _NAT64_LOCAL or ip.teredo is not None:
        return False
    return all(is_public(inner) for inner in _embedded_ipv4(ip))


def checked_addresses(
    host: str, port: int, *, resolver: Resolver, allowed_hosts: frozenset[str]
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
    if name in allowed_hosts:
        return addresses
    for address in addresses:
        if not is_public(ipaddress.ip_address(address.split("%", 1)[0])):
            raise AddressRefused(f"{host} resolves to {address}")
    return addresses
