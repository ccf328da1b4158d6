"""The Celery application; its broker is REDIS_URL (see settings)."""

from __future__ import annotations

import os

from celery import Celery, signals

from hscjit.logs import connect_celery_signals
from hscjit.metrics import mark_this_process_dead

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hscjit.settings")

app = Celery("hscjit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

connect_celery_signals()
# Pool processes leave with os._exit, which skips atexit.
signals.worker_process_shutdown.connect(mark_this_process_dead, weak=False)
