"""Celery wired to Flask, following the Flask docs' "Background Tasks with Celery" pattern."""

from __future__ import annotations

import importlib

from celery import Celery, Task
from flask import Flask

TASK_MODULES = ("booking.core.tasks", "booking.accounts.tasks", "booking.scheduling.tasks",
                "booking.notifications.tasks", "booking.payments.tasks")


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    # Feature task modules register their @shared_task functions on import; the web process
    # imports them too, so a request can enqueue a task by name on this app.
    celery_app.conf.imports = TASK_MODULES
    for module in TASK_MODULES:
        importlib.import_module(module)
    app.extensions["celery"] = celery_app
    return celery_app
