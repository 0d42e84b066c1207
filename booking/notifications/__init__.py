"""Notifications: a durable outbox of messages, written with the change that causes them and
sent by the Celery worker."""
