"""The per-contact read model's SQL, shared by its SQLite and PostgreSQL tables.

Written once with `?` placeholders and `{contacts}`/`{campaigns}` table names; each adapter
fills in its own placeholder style and (schema-qualified) names.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from app.read_models import ACKS_BY_NAME, PENDING, delivery_name
from app.views import ContactReport

CONTACTS_TABLE: Final = "campaign_contacts"
CAMPAIGNS_TABLE: Final = "campaign_contacts_campaigns"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

REPORT_COLUMNS: Final = (
    "contact_index, chat_id, phone, name, outcome, message_id, error, attempted_at, ack"
)
INDEXES: Final = (
    # Pages filtered by outcome (pending is a NULL outcome) or by delivery, in index order.
    (
        "CREATE INDEX IF NOT EXISTS campaign_contacts_by_outcome "
        "ON {contacts} (campaign_id, outcome, contact_index)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS campaign_contacts_by_ack "
        "ON {contacts} (campaign_id, ack, contact_index)"
    ),
    # WAHA's acks name the message: one lookup per ack.
    (
        "CREATE INDEX IF NOT EXISTS campaign_contacts_by_message "
        "ON {contacts} (message_key) WHERE message_key IS NOT NULL"
    ),
    # The guardrails: the last message to a chat, and a session's sends since a moment.
    (
        "CREATE INDEX IF NOT EXISTS campaign_contacts_sent_to_chat "
        "ON {contacts} (session, chat_id, attempted_at) WHERE outcome = 'sent'"
    ),
    (
        "CREATE INDEX IF NOT EXISTS campaign_contacts_sent_by_session "
        "ON {contacts} (session, attempted_at) WHERE outcome = 'sent'"
    ),
)
SET_OUTCOME: Final = (
    "UPDATE {contacts} SET outcome = ?, error = ?, message_id = ?, message_key = ?, "
    "attempted_at = ? WHERE campaign_id = ? AND contact_index = ?"
)
CAMPAIGN_OF_DELIVERIES: Final = "SELECT campaign_id FROM {campaigns} WHERE deliveries_id = ?"
ACK_OF: Final = "SELECT ack FROM {contacts} WHERE campaign_id = ? AND contact_index = ?"
SET_ACK: Final = "UPDATE {contacts} SET ack = ? WHERE campaign_id = ? AND contact_index = ?"
COUNT_ACK: Final = (
    "UPDATE {campaigns} SET delivered_count = delivered_count + ?, read_count = read_count + ? "
    "WHERE campaign_id = ?"
)
SIZE_OF: Final = "SELECT size FROM {campaigns} WHERE campaign_id = ?"
LISTED: Final = "SELECT COUNT(*) AS listed FROM {contacts} WHERE campaign_id = ?"
SENT_TO: Final = (
    "SELECT campaign_id, contact_index FROM {contacts} WHERE message_key = ? "
    "ORDER BY attempted_at DESC LIMIT 1"
)
LAST_SENT: Final = (
    "SELECT campaign_id, attempted_at FROM {contacts} WHERE session = ? AND chat_id = ? "
    "AND outcome = 'sent' ORDER BY attempted_at DESC LIMIT 1"
)
SENT_COUNT: Final = (
    "SELECT COUNT(*) AS sent FROM {contacts} WHERE session = ? AND outcome = 'sent' "
    "AND attempted_at >= ?"
)
DELIVERY_COUNTS: Final = "SELECT delivered_count, read_count FROM {campaigns} WHERE campaign_id = ?"
DELIVERY_TOTALS: Final = (
    "SELECT COALESCE(SUM(delivered_count), 0) AS delivered_count, "
    "COALESCE(SUM(read_count), 0) AS read_count FROM {campaigns}"
)


def page_query(
    *,
    outcomes: frozenset[str] | None,
    pending: bool,
    delivery: frozenset[str] | None,
) -> tuple[str, list[Any]]:
    """Return a page's SQL after `campaign_id = ? AND contact_index > ?`, and its filter values.

    The caller binds campaign id and cursor first, then the returned values, then the limit.
    """
    where = ["campaign_id = ?", "contact_index > ?"]
    values: list[Any] = []
    if outcomes is not None or pending:
        named = sorted((outcomes or frozenset()) - {PENDING})
        either = []
        if named:
            either.append(f"outcome IN ({', '.join('?' * len(named))})")
            values.extend(named)
        if pending or PENDING in (outcomes or frozenset()):
            either.append("outcome IS NULL")
        where.append(f"({' OR '.join(either)})")
    if delivery is not None:
        acks = sorted(ACKS_BY_NAME[name] for name in delivery if name in ACKS_BY_NAME)
        if acks:
            where.append(f"ack IN ({', '.join('?' * len(acks))})")
            values.extend(acks)
        else:
            where.append("1 = 0")  # no state of that name: nothing matches
    sql = (
        f"SELECT {REPORT_COLUMNS} FROM {{contacts}} WHERE {' AND '.join(where)} "  # noqa: S608 - fixed text
        "ORDER BY contact_index LIMIT ?"
    )
    return sql, values


def micros(at: datetime) -> int:
    """Return `at` as whole microseconds since the epoch: exact, and sortable as a number."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Return the aware UTC time `micros` made."""
    return _EPOCH + timedelta(microseconds=value)


def report_of(row: Any, attempted_at: datetime | None) -> ContactReport:
    """Return the contact report of a row selected with REPORT_COLUMNS."""
    return ContactReport(
        index=int(row["contact_index"]),
        chat_id=str(row["chat_id"]),
        phone=str(row["phone"]),
        name=row["name"],
        outcome=row["outcome"],
        message_id=row["message_id"],
        error=row["error"],
        attempted_at=attempted_at,
        delivery=delivery_name(row["ack"]),
    )


def ack_counts(old: int | None, new: int) -> tuple[int, int]:
    """Return what an ack raising a contact from `old` to `new` adds to (delivered, read)."""
    before = -2 if old is None else old
    delivered = int(new >= 2 > before)  # noqa: PLR2004 - WhatsApp's DEVICE level
    read = int(new >= 3 > before)  # noqa: PLR2004 - WhatsApp's READ level
    return delivered, read


def placeholders(sql: str, style: str) -> str:
    """Return `sql` with its `?` placeholders in the driver's `style`."""
    return sql if style == "?" else sql.replace("?", style)
