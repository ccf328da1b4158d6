"""Hostile vendors and malformed addresses (issue 14, items 2, 11, 12, 14, 17)."""

from __future__ import annotations

import io
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from apps.manuals.fetching import FetchError, FetchPolicy, fetch_to_file, is_public
from apps.manuals.fetching.addresses import parse_allowed_hosts
from hscjit.url_rules import InvalidUrl, check_catalog_url, check_url

LOOPBACK_ANY_PORT = parse_allowed_hosts(["127.0.0.1:*"])


@pytest.fixture
def header_drip() -> Iterator[int]:
    """A server that answers `200 OK` and then one header byte a second, forever."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while True:
                    conn.sendall(b"X")
                    if stop.wait(0.2):
                        break
            except OSError:
                pass

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    listener.close()


def test_the_deadline_cuts_off_a_server_that_drips_its_headers(header_drip):
    # Each byte arrives well within the read timeout: only a deadline over the whole
    # exchange, headers included, ends this (after two or three bytes).
    policy = FetchPolicy(allowed_hosts=LOOPBACK_ANY_PORT, read_timeout=5.0, deadline=0.5, retries=0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not answer in time") as caught:
        fetch_to_file(f"http://127.0.0.1:{header_drip}/m.pdf", io.BytesIO(), policy=policy)
    assert time.monotonic() - started < 2.5
    assert caught.value.transient


@pytest.mark.parametrize(
    "address",
    ["fec0::1", "192.0.0.1", "192.0.0.9", "192.0.0.170", "192.88.99.1", "198.18.0.1", "3fff::1"],
)
def test_it_refuses_special_purpose_ranges_python_calls_global(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "192.31.196.1"])
def test_it_still_accepts_public_addresses(address):
    assert is_public(ipaddress.ip_address(address))


def test_an_allowed_host_is_allowed_only_on_its_port(vendor, pdf_factory):
    url = vendor.add("/m.pdf", body=pdf_factory(["ok"]))
    allowed = FetchPolicy(allowed_hosts=parse_allowed_hosts([f"127.0.0.1:{vendor.port}"]))
    fetch_to_file(url, io.BytesIO(), policy=allowed)
    other_port = FetchPolicy(allowed_hosts=parse_allowed_hosts([f"127.0.0.1:{vendor.port + 1}"]))
    with pytest.raises(FetchError, match="private or local network"):
        fetch_to_file(url, io.BytesIO(), policy=other_port)


def test_a_bare_allowed_host_means_the_web_ports_only():
    assert parse_allowed_hosts(["Intranet.Example."]) == {
        ("intranet.example", 80),
        ("intranet.example", 443),
    }
    assert parse_allowed_hosts(["[::1]:8080", "h:*"]) == {("::1", 8080), ("h", None)}
    with pytest.raises(ValueError, match="port"):
        parse_allowed_hosts(["host:99999"])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/m.pdf", "not allowed in a domain"),
        ("http://0177.0.0.1/m.pdf", "shorthand form"),
        ("http://2130706433/m.pdf", "shorthand form"),
        ("http://0x7f.1/m.pdf", "shorthand form"),
        ("http://vendor.com/m\r\n.pdf", "line break"),
        ("http://vendor.com/\tm.pdf", "line break"),
        ("http://" + "a" * 990 + ".com/", "longer than 1,000 characters"),
        ("ftp://vendor.com/m.pdf", "not an http or https link"),
        ("http://user:pw@vendor.com/m.pdf", "user name or password"),
        ("http://vendor.com:99999/m.pdf", "port that is not a number"),
        ("http://[::1/m.pdf", "not a well-formed address"),
        ("http://ven dor.com/", "space"),
        ("http://vendor_.com!/", "characters that are not allowed"),
    ],
)
def test_a_malformed_address_is_refused_with_what_is_wrong(url, reason):
    with pytest.raises(InvalidUrl, match=reason):
        check_url(url)


def test_well_formed_addresses_pass():
    for url in [
        "https://vendor.com/m.pdf",
        "http://93.184.216.34:8080/x",
        "https://[2606:4700::1]/m.pdf",
        "https://bücher.de/handbuch.pdf",
        "https://cdn_1.vendor.com/m.pdf",
    ]:
        assert check_url(url) == url


@pytest.mark.parametrize(
    "url", ["http://localhost/m.pdf", "http://x.localhost/", "https://example.com/m.pdf"]
)
def test_the_catalog_refuses_reserved_hosts_with_one_reason(url):
    with pytest.raises(InvalidUrl, match="reserved for examples, tests or this machine"):
        check_catalog_url(url)


def test_the_fetcher_reports_a_malformed_address_as_such_not_as_our_error():
    with pytest.raises(FetchError, match="shorthand form") as caught:
        fetch_to_file("http://0177.0.0.1/m.pdf", io.BytesIO(), policy=FetchPolicy())
    assert not caught.value.transient
    with pytest.raises(FetchError, match="longer than 1,000 characters"):
        fetch_to_file("http://v.com/" + "x" * 1000, io.BytesIO(), policy=FetchPolicy())


def test_a_redirect_to_an_invalid_host_says_so(vendor):
    url = vendor.add("/go", status=302, headers={"Location": "http://0177.0.0.1/m.pdf"})
    policy = FetchPolicy(allowed_hosts=LOOPBACK_ANY_PORT, retries=0)
    with pytest.raises(FetchError, match="redirected to an address that writes an IP"):
        fetch_to_file(url, io.BytesIO(), policy=policy)
