"""Download one manual from an untrusted URL into a file, safely.

Every hop's host is resolved and checked (see addresses.py) and the request goes to the
checked address itself, with the original name in the Host header and in TLS SNI, so a DNS
answer that changes between the check and the connection cannot redirect us. Redirects are
followed here, not by httpx, so that each one is checked the same way. The deadline covers
the whole exchange: every socket read and write is given only the time left (a server that
drips its headers a byte a second is cut off like one that drips its body).
"""

from __future__ import annotations

import functools
import hashlib
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urljoin

import httpcore
import httpx

from apps.manuals.fetching.addresses import (
    AddressRefused,
    ResolutionFailed,
    Resolver,
    checked_addresses,
    host_allowed,
    system_resolver,
)
from hscjit.url_rules import InvalidUrl, check_url

_REDIRECTS = {301, 302, 303, 307, 308}
_SNIFF_BYTES = 2048
_WEB_PORTS = frozenset({80, 443})
_USER_AGENT = "HSC-JIT manual fetcher (+support assistant)"
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")


class FetchError(Exception):
    """A download failed; `reason` is a sentence a customer can read."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = 50 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    deadline: float = 120.0
    retries: int = 2
    backoff: float = 1.0
    max_redirects: int = 5
    # (host, port) pairs fetched even from private addresses; port None is any port
    # (addresses.parse_allowed_hosts reads them from settings).
    allowed_hosts: frozenset[tuple[str, int | None]] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Fetched:
    not_modified: bool
    url: str
    size: int = 0
    sha256: str = ""
    kind: str = ""
    etag: str = ""
    last_modified: str = ""


def sniff_kind(head: bytes) -> str:
    """'pdf', 'html' or '' from a file's first bytes; what the server claims does not count."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<") and any(marker in text[:_SNIFF_BYTES] for marker in _HTML_MARKERS):
        return "html"
    return ""


def fetch_to_file(
    url: str,
    dest: BinaryIO,
    *,
    policy: FetchPolicy,
    etag: str = "",
    last_modified: str = "",
    resolver: Resolver = system_resolver,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """Write the body at `url` into `dest`, retrying timeouts and 5xx answers with backoff."""
    try:
        url = check_url(url)
    except InvalidUrl as error:
        raise FetchError(f"The manual's address cannot be downloaded: it {error.reason}.") from None
    deadline = time.monotonic() + policy.deadline
    attempt = 0
    while True:
        dest.seek(0)
        dest.truncate()
        try:
            return _fetch_once(url, dest, policy, etag, last_modified, resolver, deadline)
        except FetchError as exc:
            attempt += 1
            pause = policy.backoff * 2 ** (attempt - 1)
            if not exc.transient or attempt > policy.retries:
                raise
            if time.monotonic() + pause >= deadline:
                raise
            sleep(pause)


def _fetch_once(
    url: str,
    dest: BinaryIO,
    policy: FetchPolicy,
    etag: str,
    last_modified: str,
    resolver: Resolver,
    deadline: float,
) -> Fetched:
    timeout = httpx.Timeout(
        connect=policy.connect_timeout,
        read=policy.read_timeout,
        write=policy.read_timeout,
        pool=policy.connect_timeout,
    )
    conditional = {}
    if etag:
        conditional["If-None-Match"] = etag
    if last_modified:
        conditional["If-Modified-Since"] = last_modified
    # trust_env=False: proxies from the environment would connect for us, unchecked. Requests
    # go straight to the transport: the client would parse a Location header itself (and
    # fail on a malformed one) before redirects are checked here.
    transport = _DeadlineTransport(deadline)
    with httpx.Client(timeout=timeout, trust_env=False, transport=transport) as client:
        current = httpx.URL(url)
        for _hop in range(policy.max_redirects + 1):
            request = _pinned_request(client, current, policy, resolver, conditional)
            try:
                response = transport.handle_request(request)
            except httpx.TimeoutException as exc:
                raise FetchError(_SLOW, transient=True) from exc
            except httpx.HTTPError as exc:
                raise FetchError(_UNREACHABLE, transient=True) from exc
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = _redirect_target(current, response.headers["location"])
                    continue
                if response.status_code == 304 and conditional:
                    return Fetched(
                        not_modified=True, url=str(current), etag=etag, last_modified=last_modified
                    )
                if response.status_code != 200:
                    raise FetchError(
                        "The manual could not be downloaded: the vendor's server answered "
                        f"{response.status_code}.",
                        transient=response.status_code >= 500,
                    )
                return _read_body(response, current, dest, policy, deadline)
            finally:
                response.close()
        raise FetchError(
            "The manual could not be downloaded: the vendor's site redirected too many times."
        )


def _pinned_request(
    client: httpx.Client,
    url: httpx.URL,
    policy: FetchPolicy,
    resolver: Resolver,
    extra_headers: dict[str, str],
) -> httpx.Request:
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = checked_addresses(
            url.host, port, resolver=resolver, allowed_hosts=policy.allowed_hosts
        )
    except AddressRefused as exc:
        raise FetchError(
            "The manual's address is not allowed: it points to a private or local network."
        ) from exc
    except ResolutionFailed as exc:
        raise FetchError(
            "The manual could not be downloaded: the vendor's server name could not be found.",
            transient=True,
        ) from exc
    # Vendors publish manuals on the web ports; any other port on a public host is more
    # likely a probe of some other service (mail, SSH, a database) than a manual.
    if port not in _WEB_PORTS and not host_allowed(url.host, port, policy.allowed_hosts):
        raise FetchError(
            "The manual's address cannot be downloaded: only the standard web ports are allowed."
        )
    headers = {
        "Host": url.netloc.decode("ascii"),
        "User-Agent": _USER_AGENT,
        "Accept": "application/pdf, text/html;q=0.9, */*;q=0.5",
        **extra_headers,
    }
    return client.build_request(
        "GET",
        url.copy_with(host=addresses[0]),
        headers=headers,
        extensions={"sni_hostname": url.host},
    )


def _read_body(
    response: httpx.Response,
    url: httpx.URL,
    dest: BinaryIO,
    policy: FetchPolicy,
    deadline: float,
) -> Fetched:
    digest = hashlib.sha256()
    head = b""
    size = 0
    try:
        # Decoded bytes are counted, so a small gzip body cannot unpack past the limit, and
        # Content-Length is not trusted either way.
        # Chunks as they arrive (no re-buffering), so a drip-fed body meets the deadline.
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > policy.max_bytes:
                raise FetchError(
                    "The manual is larger than the "
                    f"{policy.max_bytes // (1024 * 1024) or 1} MB we can download."
                )
            if time.monotonic() > deadline:
                raise FetchError(_SLOW, transient=True)
            if len(head) < _SNIFF_BYTES:
                head += chunk[: _SNIFF_BYTES - len(head)]
            digest.update(chunk)
            dest.write(chunk)
    except httpx.TimeoutException as exc:
        raise FetchError(_SLOW, transient=True) from exc
    except httpx.HTTPError as exc:
        raise FetchError(
            "The manual could not be downloaded: the connection broke off before the end.",
            transient=True,
        ) from exc
    kind = sniff_kind(head)
    if not kind:
        raise FetchError("The file at the manual's address is neither a PDF nor a web page.")
    dest.flush()
    return Fetched(
        not_modified=False,
        url=str(url),
        size=size,
        sha256=digest.hexdigest(),
        kind=kind,
        etag=response.headers.get("etag", ""),
        last_modified=response.headers.get("last-modified", ""),
    )


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    """The next hop, refused with the same reasons as a catalog address when it is malformed."""
    try:
        return httpx.URL(check_url(urljoin(str(current), location)))
    except (InvalidUrl, httpx.InvalidURL) as error:
        reason = error.reason if isinstance(error, InvalidUrl) else "is not a well-formed address"
        raise FetchError(
            f"The manual could not be downloaded: the vendor's site redirected to an address "
            f"that {reason}."
        ) from None


def _time_left(deadline: float, timeout: float | None) -> float:
    """What a socket operation may wait; past the deadline, a timeout httpx reports as one."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the fetch deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every read and write may wait only for the time left before `deadline`."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(self._deadline, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(self._deadline, timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(
            ssl_context, server_hostname, _time_left(self._deadline, timeout)
        )
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: float) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _time_left(self._deadline, timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One context for every fetch: loading the CA bundle took ~50 ms of CPU a context (two
    a fetch), and a context may be shared between threads."""
    return httpx.create_ssl_context()


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport on sockets that honour one deadline for the whole exchange.

    httpx takes no network backend, so the pool it built is replaced by the same pool on
    ours (httpcore's public API), without retries: fetch_to_file retries itself.
    """

    def __init__(self, deadline: float) -> None:
        super().__init__(verify=_ssl_context(), retries=0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            retries=0,
            network_backend=_DeadlineBackend(deadline),
        )


_SLOW = "The manual could not be downloaded: the vendor's server did not answer in time."
_UNREACHABLE = "The manual could not be downloaded: the vendor's server could not be reached."
