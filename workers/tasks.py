"""Celery tasks. Thin: take ids, call ``ledger``, commit."""

from __future__ import annotations

from celery import Task

from workers.celery_app import app


class RoyaltyTask(Task):
    """Project base task: late acks, no results, explicit names."""

    acks_late = True
    ignore_result = True


@app.task(base=RoyaltyTask, name="royalty.ping")
def ping() -> str:
    return "pong"
