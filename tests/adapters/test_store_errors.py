"""A driver's errors come out as the library's of the same kind, whichever driver raised them."""

from __future__ import annotations

import sqlite3
from types import ModuleType

import eventsourcing.persistence as library
import psycopg
import pytest

from adapters.store_errors import library_error

KINDS = [
    "InterfaceError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "DatabaseError",
]


@pytest.mark.parametrize("driver", [sqlite3, psycopg], ids=["sqlite3", "psycopg"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_a_drivers_error_is_the_librarys_of_that_kind(
    driver: ModuleType, kind: str
) -> None:
    mapped = library_error(getattr(driver, kind)("the store said no"), driver)

    assert type(mapped) is getattr(library, kind)
    assert str(mapped) == "the store said no"


@pytest.mark.parametrize("driver", [sqlite3, psycopg], ids=["sqlite3", "psycopg"])
def test_a_drivers_other_error_is_the_librarys_persistence_error(driver: ModuleType) -> None:
    mapped = library_error(driver.Error("no kind"), driver)

    assert type(mapped) is library.PersistenceError
    assert str(mapped) == "no kind"
