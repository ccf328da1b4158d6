from __future__ import annotations

import io

import pytest

from apps.manuals.fetching import FetchError, FetchPolicy, fetch_to_file, is_public, sniff_kind
from apps.manuals.fetching.addresses import AddressRefused, checked_addresses

LOOPBACK_ALLOWED = FetchPolicy(
    allowed_hosts=frozenset({("127.0.0.1", None)}),
    retries=1,
    backoff=0.01,
    read_timeout=2,
    deadline=10,
)


def fetch(url: str, policy: FetchPolicy = LOOPBACK_ALLOWED, **kwargs) -> tuple[object, bytes]:
    out = io.BytesIO()
    result = fetch_to_file(url, out, policy=policy, **kwargs)
    return result, out.getvalue()


def test_it_downloads_a_pdf_and_recognises_it_by_its_bytes(vendor, pdf_factory):
    body = pdf_factory(["hello"])
    url = vendor.add("/m.bin", body=body, headers={"Content-Type": "text/plain"})
    result, data = fetch(url)
    assert data == body
    assert result.kind == "pdf"
    assert result.size == len(body)
    assert len(result.sha256) == 64


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "240.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "2002:a00:1::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "::127.0.0.1",
    ],
)
def test_it_refuses_private_and_special_addresses(address):
    import ipaddress

    assert not is_public(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(FetchError, match="private or local network"):
        fetch(f"http://{host}/manual.pdf", FetchPolicy(retries=0))


def test_it_accepts_public_addresses():
    import ipaddress

    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
        assert is_public(ipaddress.ip_address(address))


def test_it_refuses_a_name_that_resolves_to_a_private_address():
    with pytest.raises(FetchError, match="private or local network"):
        fetch(
            "http://vendor.example/manual.pdf",
            FetchPolicy(retries=0),
            resolver=lambda host, port: ["10.0.0.7"],
        )


def test_it_refuses_a_name_when_any_of_its_addresses_is_private():
    with pytest.raises(AddressRefused):
        checked_addresses(
            "vendor.example",
            80,
            resolver=lambda host, port: ["93.184.216.34", "127.0.0.1"],
            allowed_hosts=frozenset(),
        )


def test_it_refuses_numeric_host_spellings_of_loopback():
    for url in ("http://2130706433/m.pdf", "http://0x7f.1/m.pdf", "http://127.1/m.pdf"):
        with pytest.raises(FetchError):
            fetch(url, FetchPolicy(retries=0))


def test_it_connects_to_the_address_it_checked_with_the_name_in_the_host_header(
    vendor, pdf_factory
):
    vendor.add("/m.pdf", body=pdf_factory(["pinned"]))
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        # A rebinding resolver: the first answer passes the check, later ones would not.
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.9.9.9"]

    policy = FetchPolicy(allowed_hosts=frozenset({("vendor.test", None)}), retries=0)
    result, _ = fetch(vendor.url("/m.pdf", host="vendor.test"), policy, resolver=resolver)
    assert result.kind == "pdf"
    assert lookups == ["vendor.test"]
    assert vendor.requests[-1]["host"] == f"vendor.test:{vendor.port}"


def test_it_refuses_a_redirect_to_a_private_address(vendor):
    vendor.add("/go", status=302, headers={"Location": f"http://127.0.0.1:{vendor.port}/m.pdf"})
    policy = FetchPolicy(allowed_hosts=frozenset({("vendor.test", None)}), retries=0)
    with pytest.raises(FetchError, match="private or local network"):
        fetch(
            vendor.url("/go", host="vendor.test"),
            policy,
            resolver=lambda host, port: ["127.0.0.1"],
        )
    assert vendor.hits["/m.pdf"] == 0


def test_it_follows_five_redirects_and_refuses_the_sixth(vendor, pdf_factory):
    vendor.add("/m.pdf", body=pdf_factory(["end"]))
    for hop in range(6):
        target = "/m.pdf" if hop == 0 else f"/r{hop - 1}"
        vendor.add(f"/r{hop}", status=301, headers={"Location": target})
    result, _ = fetch(vendor.url("/r4"))
    assert result.kind == "pdf"
    with pytest.raises(FetchError, match="redirected too many times"):
        fetch(vendor.url("/r5"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/m.pdf", "gopher://x/"])
def test_it_refuses_schemes_other_than_http(url):
    with pytest.raises(FetchError, match="not an http or https link"):
        fetch(url)


@pytest.mark.parametrize(
    "url",
    ["http://93.184.216.34:22/m.pdf", "https://93.184.216.34:6379/", "http://[2606:4700::1]:25/"],
)
def test_it_refuses_ports_other_than_the_web_ports_on_a_public_host(url):
    # Refused before any connection is made: nothing leaves this machine.
    with pytest.raises(FetchError, match="standard web ports"):
        fetch(url)


def test_it_refuses_a_redirect_to_another_port(vendor):
    url = vendor.add("/go", status=302, headers={"Location": "http://93.184.216.34:8025/m.pdf"})
    with pytest.raises(FetchError, match="standard web ports"):
        fetch(url)


def test_it_refuses_a_redirect_to_a_file_url(vendor):
    url = vendor.add("/go", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="not an http or https link"):
        fetch(url)


def test_it_cuts_off_a_body_without_length_past_the_limit(vendor):
    url = vendor.add("/big", body=b"%PDF-1.4\n" + b"x" * 300_000, content_length="omit")
    policy = FetchPolicy(
        allowed_hosts=frozenset({("127.0.0.1", None)}), max_bytes=100_000, retries=0
    )
    with pytest.raises(FetchError, match="larger than"):
        fetch(url, policy)


def test_it_cuts_off_a_body_whose_content_length_claims_it_is_small(vendor):
    # The header says 50 bytes; whatever arrives is counted, and only what fits is read.
    url = vendor.add("/liar", body=b"%PDF-1.4\n" + b"x" * 300_000, content_length=250_000)
    policy = FetchPolicy(
        allowed_hosts=frozenset({("127.0.0.1", None)}), max_bytes=100_000, retries=0
    )
    with pytest.raises(FetchError, match="larger than"):
        fetch(url, policy)


def test_it_gives_up_on_a_slow_body_at_the_deadline(vendor):
    url = vendor.add("/slow", body=b"%PDF-1.4\n" + b"x" * 4000, chunk=100, drip=0.2)
    # 8 s of body at this pace; a few chunks arrive before the deadline.
    policy = FetchPolicy(allowed_hosts=frozenset({("127.0.0.1", None)}), deadline=0.5, retries=0)
    with pytest.raises(FetchError, match="did not answer in time") as caught:
        fetch(url, policy)
    assert caught.value.transient


def test_it_retries_a_server_error_and_then_succeeds(vendor, pdf_factory):
    url = vendor.add("/flaky", body=pdf_factory(["ok"]), fail_first=1)
    result, _ = fetch(url)
    assert result.kind == "pdf"
    assert vendor.hits["/flaky"] == 2


def test_it_does_not_retry_a_client_error(vendor):
    with pytest.raises(FetchError, match="answered 404") as caught:
        fetch(vendor.url("/nothing"))
    assert vendor.hits["/nothing"] == 1
    assert not caught.value.transient


def test_it_reports_persistent_server_errors_as_transient(vendor):
    url = vendor.add("/down", status=500, body=b"oops")
    with pytest.raises(FetchError, match="answered 500") as caught:
        fetch(url)
    assert caught.value.transient
    assert vendor.hits["/down"] == 2


def test_it_sends_the_stored_validators_and_accepts_not_modified(vendor, pdf_factory):
    url = vendor.add("/m.pdf", body=pdf_factory(["v1"]), etag='"v1"')
    result, _ = fetch(url, etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    assert result.not_modified
    assert vendor.requests[-1]["if-none-match"] == '"v1"'
    assert vendor.requests[-1]["if-modified-since"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_it_refuses_a_file_that_is_not_what_it_claims(vendor):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    url = vendor.add("/m.pdf", body=png, headers={"Content-Type": "application/pdf"})
    with pytest.raises(FetchError, match="neither a PDF nor a web page"):
        fetch(url)


def test_it_recognises_html_served_with_a_wrong_type(vendor):
    page = b"<!DOCTYPE html><html><body><h1>Manual</h1></body></html>"
    url = vendor.add("/manual", body=page, headers={"Content-Type": "application/octet-stream"})
    result, _ = fetch(url)
    assert result.kind == "html"


def test_sniffing_ignores_what_text_merely_mentions():
    assert sniff_kind(b"just some text about <html> tags") == ""
    assert sniff_kind(b"\xef\xbb\xbf  <html><body>") == "html"
