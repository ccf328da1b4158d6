from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from apps.manuals.management.commands.import_catalog import Command as ImportCommand
from apps.manuals.management.commands.load_demo import Command as LoadDemo
from apps.manuals.models import Manual
from apps.manuals.selectors import first_document
from apps.products.models import Product
from apps.products.tests.conftest import WriteCatalog, product

pytestmark = pytest.mark.django_db

BUNDLED = {
    "lumenvale-lx-88": ("lumenvale-lx-88.pdf", "pdf"),
    "lumenvale-lp-4": ("lumenvale-lp-4.pdf", "pdf"),
    "lumenvale-dr-10": ("lumenvale-dr-10.pdf", "pdf"),
    "lumenvale-hx-2": ("lumenvale-hx-2.html", "html"),
}


def test_import_catalog_prints_a_summary_and_writes_a_report(
    write_catalog: WriteCatalog, tmp_path: Path
) -> None:
    path = write_catalog("a.json", [product("acme-one", price=-5), {"name": "no id"}])
    report = tmp_path / "out" / "report.json"
    out, err = io.StringIO(), io.StringIO()

    call_command("import_catalog", str(path), "--report", str(report), stdout=out, stderr=err)

    assert "1 created, 0 updated, 0 unchanged, 1 flagged, 1 rejected, 0 merged" in out.getvalue()
    assert f"rejected {path} record #2: record has no id" in err.getvalue()
    data = json.loads(report.read_text())
    assert data["summary"]["created"] == 1
    assert data["rejected"] == [
        {"file": str(path), "position": 2, "id": None, "reason": "record has no id"}
    ]
    assert data["flagged"][0]["reason"] == "price -5 is negative"


def test_import_catalog_fails_after_importing_the_good_files(write_catalog: WriteCatalog) -> None:
    good = write_catalog("good.json", [product("acme-one")])
    bad = write_catalog("bad.json", [], raw="{")
    with pytest.raises(CommandError, match="1 file"):
        call_command(
            "import_catalog", str(bad), str(good), stdout=io.StringIO(), stderr=io.StringIO()
        )
    assert Product.objects.filter(catalog_id="acme-one").exists()


def test_import_catalog_dry_run_says_so_and_writes_nothing(write_catalog: WriteCatalog) -> None:
    path = write_catalog("a.json", [product("acme-one")])
    out = io.StringIO()
    call_command("import_catalog", str(path), "--dry-run", stdout=out)
    assert "dry run, nothing written: 1 created" in out.getvalue()
    assert not Product.objects.exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_is_a_bar_on_a_terminal_and_lines_otherwise() -> None:
    terminal = _Terminal()
    tty = ImportCommand(stdout=terminal)
    tty.tty = True
    tty.show_progress("write", 1, 2)
    tty.show_progress("write", 2, 2)
    assert terminal.getvalue().endswith("\rimporting [" + "#" * 30 + "] 2/2 files\n")

    log = io.StringIO()
    plain = ImportCommand(stdout=log)
    plain.tty = False
    for done in range(1, 21):
        plain.show_progress("write", done, 20)
    assert log.getvalue().splitlines() == [
        "imported 10/20 files",
        "imported 20/20 files",
    ]


@pytest.fixture
def load_demo(tmp_path: Path, settings, monkeypatch: pytest.MonkeyPatch) -> LoadDemo:
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(LoadDemo, "credentials_path", lambda self: tmp_path / "creds.txt")
    return LoadDemo(stdout=io.StringIO(), stderr=io.StringIO())


def test_the_demo_catalog_has_twenty_products_and_four_bundled_manuals(
    load_demo: LoadDemo,
) -> None:
    result = load_demo.import_demo_catalog()

    assert result.summary()["created"] == Product.objects.count() == 20
    assert {k: v for k, v in result.bundled_files.items()} == {
        k: name for k, (name, _) in BUNDLED.items()
    }
    for catalog_id, (_, kind) in BUNDLED.items():
        manual = first_document(product=Product.objects.get(catalog_id=catalog_id))
        assert manual is not None and manual.kind == kind and not manual.source_url
    lumenvale = Product.objects.get(catalog_id="lumenvale-lx-88").brand
    assert (lumenvale.slug, lumenvale.name, lumenvale.website) == (
        "lumenvale",
        "Lumenvale Audio",
        "",
    )
    # Real brands carry no invented prices or product pages.
    real = Product.objects.exclude(brand=lumenvale)
    assert not real.filter(price__isnull=False).exists()
    assert not real.exclude(product_url="").exists()

    again = load_demo.import_demo_catalog()
    assert (again.summary()["created"], again.summary()["updated"]) == (0, 0)


def test_bundled_manual_files_are_copied_into_storage_once(load_demo: LoadDemo) -> None:
    load_demo.import_demo_catalog()

    manual = load_demo.attach_manual(catalog_id="lumenvale-hx-2", file_name="lumenvale-hx-2.html")
    first_name = manual.uploaded_file.name
    again = load_demo.attach_manual(catalog_id="lumenvale-hx-2", file_name="lumenvale-hx-2.html")

    assert first_name.startswith("manuals/uploads/lumenvale-hx-2")
    assert again.uploaded_file.name == first_name
    assert (
        Path(again.uploaded_file.path).read_bytes()
        == (
            Path(__file__).resolve().parents[2] / "manuals" / "demo" / "lumenvale-hx-2.html"
        ).read_bytes()
    )
    assert Manual.objects.filter(uploaded_file="").count() == Manual.objects.count() - 1


def test_the_demo_user_is_a_staff_editor_and_agent_with_a_password_made_once(
    load_demo: LoadDemo, tmp_path: Path
) -> None:
    username, password = load_demo.ensure_demo_user()
    assert (tmp_path / "creds.txt").read_text() == f"demo:{password}\n"
    user = User.objects.get(username=username)
    assert user.is_staff and not user.is_superuser
    assert user.check_password(password)
    groups = set(user.groups.values_list("name", flat=True))
    assert groups == {"Catalog editors", "Support agents"}

    user.set_password("changed-by-someone")
    user.save()
    assert load_demo.ensure_demo_user() == ("demo", password)
    user.refresh_from_db()
    assert user.check_password(password)


def _ingest_available() -> bool:
    if importlib.util.find_spec("apps.manuals.services") is None:
        return False
    return hasattr(importlib.import_module("apps.manuals.services"), "ingest_manual")


@pytest.mark.skipif(
    not _ingest_available(),
    reason="apps.manuals.services.ingest_manual (the manuals issue) is not in the tree yet",
)
def test_load_demo_makes_the_bundled_manuals_ready_and_is_idempotent(
    load_demo: LoadDemo, tmp_path: Path, settings
) -> None:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    for catalog_id in BUNDLED:
        manual = first_document(product=Product.objects.get(catalog_id=catalog_id))
        assert manual.status == Manual.Status.READY, manual.error
        assert manual.pages.exists()
    password = (tmp_path / "creds.txt").read_text().strip().partition(":")[2]
    assert f"demo / {password}" in out.getvalue()

    versions = dict(Manual.objects.values_list("pk", "version"))
    call_command("load_demo", stdout=io.StringIO())
    assert dict(Manual.objects.values_list("pk", "version")) == versions
