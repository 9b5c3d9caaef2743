"""One numbering of contacts: data counts from 0 (`index`), people count from 1 with the total.

Machine fields (events, JSON, CSV) keep the 0-based `index`. Every sentence for people says
"contact 4 of 15", and, where someone may look the contact up in the data, "(index 3)".
"""

from __future__ import annotations


def contact_words(index: int, total: int | None = None, *, with_index: bool = True) -> str:
    """Return "contact 4 of 15 (index 3)" for index 3 of 15 contacts.

    Without a total, "contact 4 (index 3)"; `with_index=False` leaves the index out.
    """
    text = f"contact {index + 1:,}"
    if total is not None:
        text += f" of {total:,}"
    if with_index:
        text += f" (index {index})"
    return text


def next_contact_words(next_index: int, total: int) -> str:
    """Return where a campaign stands: the next contact to handle, or that none is left."""
    if next_index >= total:
        return f"none left: all {total:,} handled"
    return contact_words(next_index, total)
