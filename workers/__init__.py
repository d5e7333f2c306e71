"""Celery workers: ``celery -A workers worker`` (or ``royalty worker``)."""

from workers.celery_app import app

__all__ = ["app"]
