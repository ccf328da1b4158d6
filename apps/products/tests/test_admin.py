from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from apps.manuals.models import Manual
from apps.manuals.services import attach_document
from apps.products.models import Brand, Product, ProductAlias
from apps.products.selectors import current_catalog_version

pytestmark = pytest.mark.django_db

EDITOR_PERMISSIONS = {
    f"{app}.{action}_{model}"
    for app, model, actions in [
        ("products", "brand", ("view", "add", "change", "delete")),
        ("products", "product", ("view", "add", "change", "delete")),
        ("products", "productalias", ("view", "add", "change", "delete")),
        ("products", "productrelationship", ("view", "add", "change", "delete")),
        ("products", "family", ("view", "add", "change", "delete")),
        ("products", "productmerge", ("view", "change")),
        ("products", "brandalias", ("view", "add", "change", "delete")),
        ("products", "termalias", ("view", "add", "change", "delete")),
        ("manuals", "manual", ("view", "add", "change", "delete")),
        ("manuals", "manualpage", ("view",)),
        # The document tools of the Manuals list and discovery's review queue.
        ("manuals", "discoverysource", ("view", "change")),
        ("manuals", "discoverytarget", ("view",)),
        ("manuals", "documentcandidate", ("view", "change")),
        ("chat", "chatsession", ("view",)),
        ("chat", "message", ("view",)),
        ("chat", "feedback", ("view",)),
        # Editors review what support agents save as staff notes (issue 17).
        ("manuals", "staffnote", ("view", "change", "approve")),
        ("chat", "handoff", ("view",)),
        ("django_celery_beat", "periodictask", ("view", "change")),
    ]
    for action in actions
}


@pytest.fixture
def editor_client() -> Client:
    user = User.objects.create_user("editor", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Catalog editors"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def catalog() -> dict[str, Product]:
    boss = Brand.objects.create(slug="boss", name="Boss")
    nord = Brand.objects.create(slug="nord", name="Nord")
    manual = Manual.objects.create(source_url="https://www.boss.info/rc600.pdf")
    rc600 = Product.objects.create(
        catalog_id="boss-rc-600",
        name="Boss RC-600",
        brand=boss,
        category="Loopers",
        sku="RC-600",
        price=Decimal("2990"),
    )
    attach_document(manual=manual, product=rc600)
    stage = Product.objects.create(
        catalog_id="nord-stage-4",
        name="Nord Stage 4",
        brand=nord,
        category="Stage pianos",
        raw_price="<script>alert(1)</script>",
        needs_review=True,
        review_reason="price is not a number",
    )
    ProductAlias.objects.create(product=rc600, alias="loop station six")
    return {"rc600": rc600, "stage": stage}


def test_the_editors_group_has_exactly_the_permissions_staff_need() -> None:
    group = Group.objects.get(name="Catalog editors")
    granted = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }
    assert granted == EDITOR_PERMISSIONS
    assert not Permission.objects.filter(group=group, codename__endswith="_user").exists()


def test_an_editor_is_not_let_into_user_management(editor_client: Client) -> None:
    assert editor_client.get(reverse("admin:auth_user_changelist")).status_code == 403


def _names(response) -> list[str]:
    return [p.name for p in response.context["cl"].result_list]


def test_the_product_list_searches_names_skus_and_aliases(
    editor_client: Client, catalog: dict[str, Product]
) -> None:
    url = reverse("admin:products_product_changelist")
    assert _names(editor_client.get(url, {"q": "loop station six"})) == ["Boss RC-600"]
    assert _names(editor_client.get(url, {"q": "RC-600"})) == ["Boss RC-600"]
    assert _names(editor_client.get(url, {"q": "nord-stage"})) == ["Nord Stage 4"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"has_manual": "yes"}, ["Boss RC-600"]),
        ({"has_manual": "no"}, ["Nord Stage 4"]),
        ({"needs_review__exact": "1"}, ["Nord Stage 4"]),
        ({"category": "Loopers"}, ["Boss RC-600"]),
    ],
)
def test_the_product_list_filters(
    editor_client: Client, catalog: dict[str, Product], params: dict, expected: list[str]
) -> None:
    response = editor_client.get(reverse("admin:products_product_changelist"), params)
    assert response.status_code == 200
    assert _names(response) == expected


def test_the_product_list_shows_prices_and_escapes_raw_catalog_values(
    editor_client: Client, catalog: dict[str, Product]
) -> None:
    response = editor_client.get(reverse("admin:products_product_changelist"))
    html = response.content.decode()
    assert "2,990.00 ILS" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_change_page_opens_with_its_inlines(
    editor_client: Client, catalog: dict[str, Product]
) -> None:
    url = reverse("admin:products_product_change", args=[catalog["rc600"].pk])
    response = editor_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "loop station six" in html
    # Its documents, with their status, link to their own pages.
    manual = catalog["rc600"].document_links.get().manual
    assert reverse("admin:manuals_manual_change", args=[manual.pk]) in html
    assert "Owner&#x27;s manual, Missing" in html
    assert {f.opts.model.__name__ for f in response.context["inline_admin_formsets"]} == {
        "ProductAlias",
        "ProductRelationship",
    }


def test_the_fields_staff_locked_read_as_a_list_not_as_json(
    editor_client: Client, catalog: dict[str, Product]
) -> None:
    product = catalog["rc600"]
    url = reverse("admin:products_product_change", args=[product.pk])
    assert "none: imports update every field" in editor_client.get(url).content.decode()
    product.lock(["sku", "price"])
    product.save()
    html = editor_client.get(url).content.decode()
    assert "Price, SKU" in html  # the form's labels
    assert 'name="locked_fields"' not in html  # changed by the action, not typed as JSON


def _change_form(product: Product, **changes: str) -> dict[str, str]:
    """The change form of `product` as the admin posts it, with `changes`."""
    data = {
        "catalog_id": product.catalog_id,
        "name": "Nord Stage 4 Compact",
        "brand": product.brand_id,
        "category": product.category,
        "sku": "",
        "is_active": "on",
        "price": "",
        "currency": "ILS",
        "review_reason": "",
        "product_url": "",
        "image_url": "",
        "family": "",
        "description": "",
        "specs": "{}",
        "aliases-TOTAL_FORMS": "1",
        "aliases-INITIAL_FORMS": "0",
        "aliases-0-alias": "NS4 Compact",
        "relationships-TOTAL_FORMS": "0",
        "relationships-INITIAL_FORMS": "0",
    }
    return data | changes


def test_an_admin_edit_bumps_the_catalog_version(
    editor_client: Client, catalog: dict[str, Product]
) -> None:
    product = catalog["stage"]
    url = reverse("admin:products_product_change", args=[product.pk])
    data = _change_form(product)
    before = current_catalog_version()

    response = editor_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert current_catalog_version() > before
    product.refresh_from_db()
    assert product.name == "Nord Stage 4 Compact"
    assert list(product.aliases.values_list("alias", flat=True)) == ["NS4 Compact"]


@pytest.mark.parametrize(
    "price, said",
    [
        ("-5", "Price -5 is negative"),
        ("0", "Price is zero"),
        ("99999999", "Price 99999999 is above the plausible ceiling of 200,000"),
    ],
)
def test_an_implausible_price_is_refused_with_its_reason(
    editor_client: Client, catalog: dict[str, Product], price: str, said: str
) -> None:
    product = catalog["stage"]
    url = reverse("admin:products_product_change", args=[product.pk])
    response = editor_client.post(url, _change_form(product, price=price))
    assert response.status_code == 200  # the form again, not a redirect
    errors = response.context["adminform"].form.errors["price"]
    assert errors == [f"{said}; leave it empty when the price is unknown."]
    product.refresh_from_db()
    assert product.price is None and not product.locked_fields  # nothing saved or locked
    response = editor_client.post(url, _change_form(product, price="4990"))
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.price == Decimal("4990")


def test_an_admin_delete_bumps_the_catalog_version(
    editor_client: Client, catalog: dict[str, Product]
) -> None:
    url = reverse("admin:products_product_changelist")
    before = current_catalog_version()
    response = editor_client.post(
        url,
        {"action": "delete_selected", "_selected_action": [catalog["stage"].pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Product.objects.filter(pk=catalog["stage"].pk).exists()
    assert current_catalog_version() > before
