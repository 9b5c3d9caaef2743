"""The per-contact read model on the campaigns' own store: SQLite, PostgreSQL or memory."""

from __future__ import annotations

from eventsourcing.popo import POPOFactory
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteFactory

from adapters.contacts_memory import POPOContactsView
from adapters.contacts_postgres import PostgresContactsView
from adapters.contacts_sqlite import SQLiteContactsView
from app.campaigns import CampaignsApp
from app.read_models import ContactsView

ContactsTables = SQLiteContactsView | PostgresContactsView


def contacts_view(campaigns: CampaignsApp) -> ContactsView:
    """Return the read model in `campaigns`' database, sharing its connections.

    Its tables are created as the event store's are: at start, unless CAMPAIGNS_CREATE_TABLE=n.
    A memory store gets a read model in memory (they are lost together).
    """
    factory = campaigns.factory
    view: ContactsView
    if isinstance(factory, SQLiteFactory):
        view = SQLiteContactsView(factory.datastore)
        if factory.env_create_table():
            view.create_table()
    elif isinstance(factory, PostgresFactory):
        view = PostgresContactsView(factory.datastore)
        if factory.env_create_table():
            view.create_table()
    elif isinstance(factory, POPOFactory):
        view = POPOContactsView()
    else:
        msg = f"no read model for the {type(factory).__name__} store"
        raise TypeError(msg)
    return view


def create_read_model_tables(campaigns: CampaignsApp) -> None:
    """Create the read model's tables if they are missing (e.g. for an `init-db` command)."""
    factory = campaigns.factory
    if isinstance(factory, SQLiteFactory):
        SQLiteContactsView(factory.datastore).create_table()
    elif isinstance(factory, PostgresFactory):
        PostgresContactsView(factory.datastore).create_table()
