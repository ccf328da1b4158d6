"""`index_manuals --all`: a manual's pages indexed again, as a new version."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.manuals.models import Manual, ManualIndexData
from apps.manuals.retrieval import store
from apps.manuals.services.pipeline import rebuild_index
from apps.manuals.tests.demo_data import ready_manual

pytestmark = pytest.mark.django_db


def test_a_rebuild_is_a_new_version_so_nothing_keeps_the_old_index() -> None:
    manual = ready_manual()
    store.index_manual(manual_id=manual.pk)
    old = store.load_index(manual_id=manual.pk, version=1)  # now in this process's cache
    assert ManualIndexData.objects.filter(manual=manual, version=1).exists()

    rebuild_index(manual_id=manual.pk)

    manual.refresh_from_db()
    assert manual.version == 2
    assert list(
        ManualIndexData.objects.filter(manual=manual).values_list("version", flat=True)
    ) == [2]
    fresh = store.load_index(manual_id=manual.pk, version=2)
    assert fresh is not old and fresh.version == 2
    assert [unit.text for unit in fresh.units] == [unit.text for unit in old.units]


def test_the_command_rebuilds_every_ready_manual_and_leaves_others_alone() -> None:
    ready = ready_manual()
    failed = Manual.objects.create(status=Manual.Status.FAILED, version=3)
    call_command("index_manuals", "--all", stdout=None)
    ready.refresh_from_db()
    failed.refresh_from_db()
    assert (ready.version, failed.version) == (2, 3)
    assert rebuild_index(manual_id=failed.pk) is False
