"""``royalty licensees grant-producer`` / ``revoke-producer`` (contract §11)."""

from __future__ import annotations

import typer
from rich import print as rprint

from ledger.cli.context import get_ledger
from ledger.ingest.broker_admin import BrokerAdmin


def _producers():  # noqa: ANN202 - the module ledger.catalog.producers
    """Imported by the commands that use it (with SQLAlchemy): every other command starts
    without it."""
    from ledger.catalog import producers

    return producers


def _admin() -> BrokerAdmin | None:
    ledger = get_ledger()
    url = ledger.settings.broker_admin_url
    return None if not url or ledger.broker_is_embedded else \
        BrokerAdmin.from_urls(url, ledger.broker_url)


def grant_producer(licensee: str = typer.Argument(..., help="Licensee key."),
                   user: str = typer.Argument(..., help="Broker user name.")) -> None:
    """Let USER report usage for LICENSEE; with ROYALTY_BROKER_ADMIN_URL, also create the
    broker user (its password is printed once, here) or widen its topic permission."""
    producers = _producers()
    producers.check_user(user)
    ledger = get_ledger()
    admin = _admin()
    password = None
    # The broker is changed inside the transaction: should it refuse, nothing is recorded.
    with ledger.engine.begin() as conn:
        added = producers.grant(conn, licensee, user)
        if admin is not None:
            if not admin.user_exists(user):
                password = admin.create_user(user)
            admin.allow(user, ledger.settings.usage_exchange, producers.licensees_of(conn, user))
    rprint(f"{user} {'may now report' if added else 'already reports'} usage for {licensee}")
    if admin is None:
        rprint("[yellow]note:[/yellow] ROYALTY_BROKER_ADMIN_URL is not set (or the broker is "
               "embedded): the broker user and its permissions are yours to create")
    elif password is not None:
        rprint(f"broker user {user} created; its password, shown this once and kept nowhere:")
        typer.echo(password)
    else:
        rprint(f"broker user {user} exists: password unchanged, topic permission updated")


def revoke_producer(licensee: str = typer.Argument(..., help="Licensee key."),
                    user: str = typer.Argument(..., help="Broker user name.")) -> None:
    """Stop USER reporting for LICENSEE; with ROYALTY_BROKER_ADMIN_URL, narrow its topic
    permission, or delete the broker user when it reports for no licensee any more."""
    producers = _producers()
    producers.check_user(user)
    ledger = get_ledger()
    admin = _admin()
    with ledger.engine.begin() as conn:
        removed = producers.revoke(conn, licensee, user)
        left = producers.licensees_of(conn, user)
        deleted = False
        if admin is not None:
            if left:
                admin.allow(user, ledger.settings.usage_exchange, left)
            else:
                deleted = admin.delete_user(user)
    rprint(f"{user} {'no longer reports' if removed else 'did not report'} usage for {licensee}")
    if deleted:
        rprint(f"broker user {user} deleted")
