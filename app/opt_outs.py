"""The opt-out list: who asked for no more messages, added by operators, imports and replies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from app.audience import ContactInput, normalise_audience
from app.campaigns import CampaignsApp
from app.errors import ConcurrentUpdateError, InvalidCampaignError
from app.ports import Clock, InboundMessageFact
from domain.opt_out import OptOut, OptOutEntry, entry_of, new_opt_out, opt_out_id, valid_source

MAX_PHONES_PER_CALL: Final = 10_000
_SAVE_BATCH: Final = 1000
_LISTED_TOPICS: Final = (OptOut.OptedOut.TOPIC, OptOut.OptedOutAgain.TOPIC)
_ATTEMPTS: Final = 5


class InvalidOptOutError(InvalidCampaignError):
    """Phones that cannot be put on the list; `problems` names each (phones[i])."""


@dataclass(frozen=True)
class OptOutsAdded:
    """What adding phones did: how many are new on the list, how many were on it already."""

    added: int
    already: int
    phones: list[str]


@dataclass(frozen=True)
class OptOutPage:
    """One page of the list, oldest first; `next_cursor` is None at its end."""

    items: list[OptOutEntry]
    next_cursor: int | None


def keyword_of(body: str, keywords: Iterable[str]) -> str | None:
    """Return the keyword a reply's whole text is (trimmed, any case), or None."""
    said = body.strip().casefold()
    for keyword in keywords:
        if said == keyword.strip().casefold():
            return keyword.strip().casefold()
    return None


def phone_of_chat(chat_id: str) -> str | None:
    """Return the E.164 phone of a person's chat (`<digits>@c.us`), or None for any other chat."""
    digits, _, server = chat_id.partition("@")
    if server not in {"c.us", "s.whatsapp.net"} or not digits.isdigit():
        return None
    return "+" + digits


class OptOutBook:
    """One opt-out list per store: nobody on it is messaged by any number.

    Blocking (it reads and writes the store): call it off the event loop.
    """

    def __init__(
        self, campaigns: CampaignsApp, clock: Clock, default_region: str | None = None
    ) -> None:
        self._campaigns = campaigns
        self._clock = clock
        self._region = default_region

    # -- asking -----------------------------------------------------------------------------------

    def entry(self, phone: str) -> OptOutEntry | None:
        """Return the phone's entry on the list, or None: one indexed read of its last event."""
        found = self._campaigns.recorder.select_events(opt_out_id(phone), desc=True, limit=1)
        if not found:
            return None
        return entry_of(phone, self._campaigns.mapper.to_domain_event(found[0]))

    def normalised(self, phones: Sequence[str]) -> list[str]:
        """Return the phones in E.164, or raise InvalidOptOutError naming every bad one."""
        report = normalise_audience([ContactInput(p) for p in phones], self._region)
        if report.invalid:
            problems: list[dict[str, object]] = [
                {"field": f"phones[{r.position}]", "value": r.value, "reason": r.reason}
                for r in report.invalid[:100]
            ]
            raise InvalidOptOutError(f"{len(report.invalid)} phone(s) cannot be used", problems)
        return [contact.phone for contact in report.contacts]

    def page(self, *, limit: int, cursor: int = 0) -> OptOutPage:
        """Return up to `limit` phones on the list after `cursor`, in the order they got on it."""
        items: list[OptOutEntry] = []
        after = cursor
        last_listed = cursor
        while len(items) <= limit:
            batch = self._campaigns.recorder.select_notifications(
                start=after, limit=1000, topics=_LISTED_TOPICS, inclusive_of_start=False
            )
            for notification in batch:
                record_id = UUID(str(notification.originator_id))
                if self._campaigns.last_version(record_id) != notification.originator_version:
                    continue  # removed (or renewed) since: listed where it is now, if at all
                if len(items) == limit:
                    return OptOutPage(items, last_listed)
                items.append(self._listed(record_id))
                last_listed = notification.id
            if len(batch) < 1000:  # noqa: PLR2004 - the page size
                break
            after = batch[-1].id
        return OptOutPage(items, None)

    def _listed(self, record_id: UUID) -> OptOutEntry:
        record: OptOut = self._campaigns.repository.get(record_id)
        entry = record.entry
        assert entry is not None  # noqa: S101 - listed because its last event put it on the list
        return entry

    # -- changing ---------------------------------------------------------------------------------

    def add(self, phones: Sequence[str], *, source: str, note: str = "") -> OptOutsAdded:
        """Put the phones on the list (all or none); a phone on it already stays as it was.

        Raises InvalidOptOutError naming every phone that cannot be used.
        """
        valid_source(source)
        normalised = self.normalised(phones)
        added = 0
        for start in range(0, len(normalised), _SAVE_BATCH):
            added += self._add_batch(normalised[start : start + _SAVE_BATCH], source, note)
        return OptOutsAdded(added, len(normalised) - added, normalised)

    def _add_batch(self, phones: Sequence[str], source: str, note: str) -> int:
        for _ in range(_ATTEMPTS):
            now = self._clock.now()
            changed: list[OptOut] = []
            for phone in phones:
                found = self._campaigns.recorder.select_events(opt_out_id(phone), limit=1)
                if not found:
                    changed.append(new_opt_out(phone=phone, source=source, note=note, at=now))
                    continue
                record: OptOut = self._campaigns.repository.get(opt_out_id(phone))
                if record.opt_out_again(source=source, note=note, at=now):
                    changed.append(record)
            try:
                if changed:
                    self._campaigns.save(*changed)
            except IntegrityError:
                continue  # someone changed one of them meanwhile: look again
            return len(changed)
        raise ConcurrentUpdateError("the opt-out list keeps changing; try again")

    def remove(self, phone: str, *, note: str = "") -> bool:
        """Take the phone off the list; return False if it was not on it."""
        (normalised,) = self.normalised([phone])
        for _ in range(_ATTEMPTS):
            if not self._campaigns.recorder.select_events(opt_out_id(normalised), limit=1):
                return False
            record: OptOut = self._campaigns.repository.get(opt_out_id(normalised))
            if not record.remove(note=note, at=self._clock.now()):
                return False
            try:
                self._campaigns.save(record)
            except IntegrityError:
                continue
            return True
        raise ConcurrentUpdateError("the opt-out list keeps changing; try again")

    def learn(self, fact: InboundMessageFact, keywords: Iterable[str]) -> OptOutEntry | None:
        """Put the sender of a reply that is an opt-out keyword on the list; return its entry.

        None when the reply is no keyword, or comes from a chat that is not a person's number.
        """
        keyword = keyword_of(fact.body, keywords)
        phone = phone_of_chat(fact.chat_id)
        if keyword is None or phone is None:
            return None
        try:
            (normalised,) = self.normalised([phone])
        except InvalidOptOutError:
            return None
        self.add(
            [normalised], source=f"inbound:{keyword}", note=f"replied {fact.body.strip()[:40]!r}"
        )
        return self.entry(normalised)
