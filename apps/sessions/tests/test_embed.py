"""The chat embedded on a shop's pages: sites, framing, cookies in the frame, the socket."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client

from apps.products.models import Brand, Product
from apps.sessions import embed
from apps.sessions.models import ChatSession, Site
from apps.sessions.origins import normalise_origin
from apps.sessions.tests.test_page_policies import _handshake

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_origins():
    embed.forget_site_origins()
    yield
    embed.forget_site_origins()


def _site(**fields) -> Site:
    values = {
        "key": "shop",
        "name": "Shop",
        "allowed_origins": "https://shop.example\nhttp://127.0.0.1:8766",
        "default_language": "he",
    } | fields
    return Site.objects.create(**values)


def _product() -> Product:
    brand = Brand.objects.create(slug="boss", name="Boss")
    return Product.objects.create(
        catalog_id="boss-katana-50",
        name="Boss Katana-50 Gen 3",
        brand=brand,
        product_url="https://shop.example/products/katana-50",
    )


def test_origins_are_normalised_and_anything_else_refused():
    assert normalise_origin("HTTPS://Shop.Example:443/") == "https://shop.example"
    assert normalise_origin("http://127.0.0.1:8766") == "http://127.0.0.1:8766"
    for bad in ("shop.example", "https://shop.example/page", "ftp://shop.example", "https://"):
        with pytest.raises(ValueError):
            normalise_origin(bad)
    with pytest.raises(ValidationError):
        Site(key="x", name="x", allowed_origins="https://ok.example\nnot an origin").full_clean()


def test_the_embed_starts_a_chat_of_the_site_about_the_page_product_in_the_site_language():
    site = _site()
    product = _product()
    client = Client()
    response = client.get(
        "/embed/start", {"site": "shop", "url": "https://shop.example/products/katana-50/?a=1"}
    )
    assert response.status_code == 302
    chat = ChatSession.objects.get()
    assert (chat.site, chat.product, chat.language) == (site, product, "he")
    page = client.get(response["Location"])
    assert page.status_code == 200
    policy = page["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example http://127.0.0.1:8766" in policy
    assert "X-Frame-Options" not in page


def test_the_browser_language_wins_over_the_site_default_and_the_catalog_id_over_the_url():
    _site()
    _product()
    client = Client()
    client.get(
        "/embed/start",
        {"site": "shop", "product": "boss-katana-50", "url": "https://shop.example/other"},
        headers={"accept_language": "en-US,en;q=0.8"},
    )
    chat = ChatSession.objects.get()
    assert chat.language == "en" and chat.product is not None


def test_new_chat_in_the_widget_starts_the_next_one_through_the_widget():
    _site()
    client = Client()
    page = client.get(client.get("/embed/start", {"site": "shop", "lang": "en"})["Location"])
    html = page.content.decode()
    assert html.count('href="/embed/start?site=shop&amp;lang=en"') == 2  # nav, banner
    # Outside a widget it is the plain start, which refuses to be framed.
    plain = client.get(client.get("/chat/")["Location"]).content.decode()
    assert 'href="/chat/">New chat' in plain


def test_a_chat_that_is_not_embedded_may_not_be_framed():
    client = Client()
    page = client.get(client.get("/chat/")["Location"])
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "DENY"


def test_an_unknown_or_disabled_site_gets_no_chat():
    _site(is_active=False)
    assert Client().get("/embed/start", {"site": "shop"}).status_code == 404
    assert Client().get("/embed/start", {"site": "nope"}).status_code == 404
    assert not ChatSession.objects.exists()


def test_behind_https_the_frame_gets_its_cookies_with_samesite_none():
    _site()
    response = Client().get("/embed/start", {"site": "shop"}, secure=True)
    cookie = response.cookies["sessionid"]
    assert cookie["samesite"] == "None" and cookie["secure"]


def test_without_the_frame_cookie_the_chat_offers_a_tab_of_its_own():
    _site()
    location = Client().get("/embed/start", {"site": "shop", "product": "x"})["Location"]
    # A browser that blocks third-party cookies comes back without the session.
    page = Client().get(location, headers={"accept_language": "he"})
    assert page.status_code == 200
    assert "first_party=1" in page.text and 'target="_blank"' in page.text
    assert "פתחו את הצ׳אט בכרטיסייה חדשה" in page.text  # noqa: RUF001
    assert "frame-ancestors https://shop.example" in page["Content-Security-Policy"]


def test_a_site_has_its_own_bounded_rate_of_new_chats():
    cache.clear()  # other tests of this minute counted chats of "shop" too
    _site(sessions_per_minute=2)
    codes = [Client().get("/embed/start", {"site": "shop"}).status_code for _ in range(3)]
    assert codes == [302, 302, 429]


def test_the_launcher_script_is_small_and_served_at_a_short_address():
    response = Client().get("/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert len(response.content) < 15 * 1024


async def test_a_configured_site_origin_may_open_the_socket_and_another_may_not():
    await database_sync_to_async(_site)()
    host = [(b"host", b"127.0.0.1:8000")]
    assert await _handshake([*host, (b"origin", b"https://shop.example")]) is None
    assert await _handshake([*host, (b"origin", b"https://evil.example")]) == 4403
