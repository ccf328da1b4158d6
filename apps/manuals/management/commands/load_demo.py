"""`manage.py load_demo`: the demo catalog, its bundled manuals, and a demo staff login.

Idempotent: run it again and nothing changes, except that the credentials are printed again.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from apps.manuals.models import Manual
from apps.manuals.selectors import documents_of
from apps.manuals.services import import_catalog, ingest_manual
from apps.products.importer import ImportResult
from apps.products.models import Product

DEMO_CATALOG = Path(settings.BASE_DIR) / "apps" / "products" / "demo"
DEMO_MANUALS = Path(settings.BASE_DIR) / "apps" / "manuals" / "demo"
EDITORS_GROUP = "Catalog editors"
# The staff who try the demo try the live console too (apps/sessions/handoff).
AGENTS_GROUP = "Support agents"
DEMO_USERNAME = "demo"


def _digest(handle: Any) -> str:
    sha = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 16), b""):
        sha.update(chunk)
    return sha.hexdigest()


class Command(BaseCommand):
    help = "Load the demo catalog and its manuals, and create the demo staff login."

    def handle(self, *args: Any, **options: Any) -> None:
        result = self.import_demo_catalog()
        for catalog_id, file_name in sorted(result.bundled_files.items()):
            manual = self.attach_manual(catalog_id=catalog_id, file_name=file_name)
            self.ingest(manual)
        username, password = self.ensure_demo_user()
        self.stdout.write(
            self.style.SUCCESS(f"demo staff login: {username} / {password}")
            + f"  (saved in {self.credentials_path()})"
        )

    def import_demo_catalog(self) -> ImportResult:
        result = import_catalog([str(DEMO_CATALOG)])
        if result.failed_files or result.rejections:
            problems = [f"{f.path}: {f.error}" for f in result.failed_files] + [
                f"{r.file} #{r.position}: {r.reason}" for r in result.rejections
            ]
            raise CommandError("the demo catalog did not import: " + "; ".join(problems))
        summary = result.summary()
        self.stdout.write(
            f"demo catalog: {summary['created']} created, {summary['updated']} updated, "
            f"{summary['unchanged']} unchanged"
        )
        return result

    def attach_manual(self, *, catalog_id: str, file_name: str) -> Manual:
        """Copy the bundled file into media storage, unless the same bytes are already there."""
        documents = documents_of(product=Product.objects.get(catalog_id=catalog_id))
        manual = documents[0] if documents else None
        if manual is None:
            raise CommandError(f"{catalog_id} has no manual row after the import")
        source = DEMO_MANUALS / Path(file_name).name
        if not source.is_file():
            raise CommandError(f"the demo manual {source} is missing")
        with source.open("rb") as handle:
            wanted = _digest(handle)
        if manual.uploaded_file:
            try:
                with manual.uploaded_file.open("rb") as stored:
                    if _digest(stored) == wanted:
                        return manual
            except FileNotFoundError:
                pass
        with source.open("rb") as handle:
            manual.uploaded_file.save(source.name, File(handle), save=False)
        # New bytes mean the extracted text is stale: ingest again.
        manual.status = Manual.Status.MISSING
        manual.save(update_fields=["uploaded_file", "status", "updated_at"])
        self.stdout.write(f"attached {source.name} to manual {manual.pk}")
        return manual

    def ingest(self, manual: Manual) -> None:
        if manual.status == Manual.Status.READY:
            return
        ingest_manual(manual_id=manual.pk)
        manual.refresh_from_db(fields=["status", "page_count", "error"])
        self.stdout.write(
            f"manual {manual.pk} ({manual.uploaded_file.name}): {manual.status}, "
            f"{manual.page_count or 0} pages" + (f" ({manual.error})" if manual.error else "")
        )

    def credentials_path(self) -> Path:
        return Path(settings.BASE_DIR) / "var" / "demo-credentials.txt"

    def ensure_demo_user(self) -> tuple[str, str]:
        """A staff user in Catalog editors and Support agents, not a superuser, with a password
        made once."""
        path = self.credentials_path()
        password = ""
        if path.is_file():
            _, _, password = path.read_text().strip().partition(":")
        if not password:
            password = secrets.token_urlsafe(15)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(f"{DEMO_USERNAME}:{password}\n")
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        changed = not (user.is_staff and user.is_active) or user.is_superuser
        user.is_staff, user.is_active, user.is_superuser = True, True, False
        if not user.check_password(password):
            user.set_password(password)
            changed = True
        if changed:
            user.save()
        user.groups.add(*Group.objects.filter(name__in=[EDITORS_GROUP, AGENTS_GROUP]))
        return DEMO_USERNAME, password
