"""A database driver's errors as the event store library's, as its own recorders raise them.

sqlite3 and psycopg both name their errors as DB-API 2.0 does (PEP 249), and so does the
library (eventsourcing.persistence): our writers and reads beside the library's recorders map
one to the other by that name, so callers catch what they catch from the library.
"""

from __future__ import annotations

from types import ModuleType
from typing import Final

from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
)

# The more particular before DatabaseError, which they all are.
_KINDS: Final[tuple[type[PersistenceError], ...]] = (
    InterfaceError,
    DataError,
    OperationalError,
    IntegrityError,
    InternalError,
    ProgrammingError,
    NotSupportedError,
    DatabaseError,
)


def library_error(error: Exception, driver: ModuleType) -> PersistenceError:
    """Return `error`, raised by `driver` (a DB-API module), as the library's error of its kind."""
    for kind in _KINDS:
        if isinstance(error, getattr(driver, kind.__name__)):
            return kind(str(error))
    return PersistenceError(str(error))
