"""The plans PostgreSQL ran, as ``auto_explain`` reports them (JSON, with actual rows)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def captured_plans(conn: psycopg.Connection) -> Iterator[list[dict]]:
    """Every statement ``conn`` runs from now on, its plan appended as it is run. Entered
    outside a transaction: the settings are the session's, through the commits of what
    runs inside."""
    plans: list[dict] = []

    def keep(diagnostic: psycopg.errors.Diagnostic) -> None:
        text = diagnostic.message_primary or ""
        if "plan:" in text:
            plans.append(json.loads(text.split("plan:", 1)[1])["Plan"])

    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    conn.execute("LOAD 'auto_explain'")
    for setting, value in (("log_min_duration", "0"), ("log_analyze", "on"),
                           ("log_nested_statements", "on"), ("log_format", "json"),
                           ("log_level", "notice")):
        conn.execute(f"SET auto_explain.{setting} = '{value}'")
    conn.commit()
    conn.add_notice_handler(keep)
    try:
        yield plans
    finally:
        conn.remove_notice_handler(keep)


def modifying(plans: list[dict], table: str) -> dict:
    """The one plan that writes ``table``."""
    [plan] = [p for p in plans if any(n["Node Type"] == "ModifyTable"
                                      and n["Relation Name"] == table for n in nodes(p))]
    return plan


def nodes(plan: dict) -> list[dict]:
    """A plan's nodes, depth first."""
    return [plan, *(n for child in plan.get("Plans", []) for n in nodes(child))]


def rows_handled(plan: dict) -> int:
    """Rows the plan's nodes returned or removed by a filter, every loop counted: the work a
    plan did, which a join done once per row of another multiplies."""
    return sum((n["Actual Rows"] + n.get("Rows Removed by Filter", 0)
                + n.get("Rows Removed by Join Filter", 0)) * n["Actual Loops"] for n in nodes(plan))
