"""Celery wired to Flask, following the Flask docs' "Background Tasks with Celery" pattern."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    # Feature task modules register their @shared_task functions on import.
    celery_app.conf.imports = ("booking.core.tasks", "booking.scheduling.tasks",
                              "booking.notifications.tasks")
    app.extensions["celery"] = celery_app
    return celery_app
