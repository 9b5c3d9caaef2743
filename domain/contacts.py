"""Contacts of a campaign's audience, addressed by the chat ids WAHA uses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NewType

from domain.errors import DomainError

ChatId = NewType("ChatId", str)

_CHAT_ID = re.compile(r"^[1-9][0-9]{6,17}@c\.us$")


class InvalidChatIdError(DomainError):
    """A chat id that is not of WAHA's `<digits>@c.us` form."""


def chat_id(value: str) -> ChatId:
    """Return `value` as a ChatId, or raise InvalidChatIdError."""
    if not _CHAT_ID.match(value):
        raise InvalidChatIdError(f"{value!r} is not a chat id of the form <digits>@c.us")
    return ChatId(value)


def chat_id_for_e164(phone: str) -> ChatId:
    """Return the chat id WAHA uses for an E.164 number such as +4915123456789."""
    return chat_id(phone.removeprefix("+") + "@c.us")


@dataclass(frozen=True)
class Contact:
    """One person a campaign messages: contact `i` of its frozen audience."""

    phone: str
    chat_id: ChatId
    name: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)

    def template_values(self) -> dict[str, str]:
        """Return the values this contact supplies to a template: its variables and name."""
        values = dict(self.variables)
        if self.name is not None:
            values.setdefault("name", self.name)
        return values

    def to_record(self) -> dict[str, object]:
        """Return the contact as JSON-native data for an event."""
        return {
            "phone": self.phone,
            "chat_id": str(self.chat_id),
            "name": self.name,
            "variables": dict(self.variables),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> Contact:
        """Rebuild a contact from the data `to_record` made."""
        variables = record.get("variables") or {}
        assert isinstance(variables, dict)  # noqa: S101 - event data we wrote ourselves
        name = record.get("name")
        return cls(
            phone=str(record["phone"]),
            chat_id=ChatId(str(record["chat_id"])),
            name=None if name is None else str(name),
            variables={str(k): str(v) for k, v in variables.items()},
        )


@dataclass(frozen=True)
class MissingVariable:
    """A contact that lacks fields its message template needs."""

    position: int
    phone: str
    fields: tuple[str, ...]
