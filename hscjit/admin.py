"""Admin additions that belong to no app: the periodic jobs' "Run selected tasks"."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask
from kombu.utils.json import loads

from hscjit import background


class PeriodicJobAdmin(PeriodicTaskAdmin):
    """django-celery-beat's admin; "Run selected tasks" also works without a Celery worker.

    Under the embedded default (no REDIS_URL) nothing consumes Celery's queue, so sending
    the tasks there would report success and run nothing: they run on this process's
    background threads instead, as every other background task does there.
    """

    @admin.action(description=_("Run selected tasks"))
    def run_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> Any:
        if settings.CELERY_ENABLED:
            return super().run_tasks(request, queryset)
        self.celery_app.loader.import_default_modules()
        jobs = list(queryset)
        unknown = [job.task for job in jobs if job.task not in self.celery_app.tasks]
        if unknown:
            self.message_user(
                request, _("Unknown task: %(task)s") % {"task": unknown[0]}, messages.ERROR
            )
            return None
        for job in jobs:
            background.enqueue(job.task, *loads(job.args or "[]"), **loads(job.kwargs or "{}"))
        self.message_user(
            request,
            ngettext(
                "%(count)d task started in this web process: no Celery worker runs with the "
                "embedded default (no REDIS_URL). Its result is in the server's log.",
                "%(count)d tasks started in this web process: no Celery worker runs with the "
                "embedded default (no REDIS_URL). Their results are in the server's log.",
                len(jobs),
            )
            % {"count": len(jobs)},
            messages.SUCCESS,
        )
        return None


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PeriodicJobAdmin)
