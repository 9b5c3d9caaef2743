"""The new-campaign form's preview, made before anything is created, and its command.

The preview is computed with the scheduling code itself (the contacts-file reader, then
`validated_audience` and the message template), so what it shows is what creating would do;
it records nothing. Rows whose phone cannot be used are listed and, if the operator goes on,
left out of the campaign; every other problem is shown next to its field and blocks creating.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from adapters.console.campaign_form import CampaignForm, pacing_of, schedule_of
from adapters.console.drafts import Draft
from adapters.contacts_file import (
    ContactsFile,
    ContactsFileError,
    OptionNames,
    header_of,
    read_contacts_file,
)
from adapters.media import NotAnImageError, sniff_image
from app.audience import AudienceReport, ContactInput
from app.errors import AudienceRejectedError, InvalidCampaignError, MissingVariablesError
from app.scheduling import ScheduleCampaign, validated_audience
from domain.content import MessageTemplate
from domain.pacing import CampaignOptions

SAMPLES: Final = 5
LISTED: Final = 200  # rows of a kind shown in the preview; the rest are counted
_OPTION_NAMES: Final = OptionNames(
    phone_column="the phone column field", encoding="the encoding field"
)
_FIELD_OF_PROBLEM: Final = (
    ("name", "name"),
    ("session", "session"),
    ("message.", "text"),
    ("scheduled_for", "start_at"),
    ("contacts", "contacts"),
)


@dataclass(frozen=True)
class Row:
    """A row of the file the preview names: where it is, its phone, and what is said of it."""

    place: str
    value: str
    reason: str


@dataclass(frozen=True)
class Sample:
    """A rendered message, as one of the first contacts would receive it."""

    place: str
    to: str
    text: str


@dataclass(frozen=True)
class Preview:
    """What creating would do: contacts kept, rows left out or dropped, the first messages."""

    rows: int
    kept: int
    rejected: int
    rejects: list[Row]
    duplicates: list[Row]
    lacking: list[Row]
    warnings: list[str]
    samples: list[Sample]
    variables: list[str]
    scheduled_for: datetime | None

    @property
    def creatable(self) -> bool:
        """Whether the campaign can be created from it (rejected rows left out)."""
        return self.kept > 0 and not self.lacking


@dataclass(frozen=True)
class Checked:
    """The form checked: errors by field, the preview, and the command when it can be created."""

    form: CampaignForm
    errors: dict[str, str] = field(default_factory=dict)
    preview: Preview | None = None
    command: ScheduleCampaign | None = None
    columns: list[str] = field(default_factory=list)  # the file's header, to pick the phone


def _read_file(
    form: CampaignForm, draft: Draft | None, errors: dict[str, str]
) -> ContactsFile | None:
    if draft is None or draft.contacts is None:
        errors["contacts"] = "choose the contacts file (CSV or XLSX) with a phone column"
        return None
    try:
        return read_contacts_file(
            draft.contacts.data,
            phone_column=form.phone_column or None,
            encoding=form.encoding or None,
            options=_OPTION_NAMES,
        )
    except ContactsFileError as error:
        name = {"phone_column": "phone_column", "encoding": "encoding"}.get(error.field, "contacts")
        errors[name] = str(error)
        return None


def _image(draft: Draft | None, errors: dict[str, str]) -> None:
    if draft is not None and draft.image is not None:
        try:
            sniff_image(draft.image.data)
        except NotAnImageError as error:
            errors["image"] = str(error)


def _field_errors(error: InvalidCampaignError, errors: dict[str, str]) -> None:
    for problem in error.problems:
        name = str(problem.get("field", ""))
        target = next((f for prefix, f in _FIELD_OF_PROBLEM if name.startswith(prefix)), "contacts")
        errors.setdefault(target, str(problem.get("reason", error)))


@dataclass(frozen=True)
class _Audience:
    report: AudienceReport | None
    kept: list[int]  # the file position of each contact given to the last check
    rejects: list[Row]
    lacking: list[Row]


def _audience(
    request: ScheduleCampaign,
    file: ContactsFile | None,
    default_region: str | None,
    errors: dict[str, str],
) -> _Audience:
    template = MessageTemplate(request.text)
    contacts = file.contacts if file is not None else []
    kept = list(range(len(contacts)))
    rejects: list[Row] = []
    try:
        return _Audience(validated_audience(request, template, default_region), kept, [], [])
    except AudienceRejectedError as error:
        place = file.place if file is not None else str
        rejects = [Row(place(r.position), r.value, r.reason) for r in error.report.invalid]
        refused = {r.position for r in error.report.invalid}
        kept = [i for i in kept if i not in refused]
        subset = replace(request, contacts=[contacts[i] for i in kept])
        if not kept:
            errors["contacts"] = "no row of the file has a usable phone number"
            return _Audience(None, kept, rejects, [])
        try:
            return _Audience(
                validated_audience(subset, template, default_region), kept, rejects, []
            )
        except MissingVariablesError as missing:
            return _missing(missing, kept, rejects, file, errors)
    except MissingVariablesError as missing:
        return _missing(missing, kept, rejects, file, errors)
    except InvalidCampaignError as error:
        _field_errors(error, errors)
        return _Audience(None, kept, rejects, [])


def _missing(
    error: MissingVariablesError,
    kept: list[int],
    rejects: list[Row],
    file: ContactsFile | None,
    errors: dict[str, str],
) -> _Audience:
    for problem in error.problems:
        if problem.get("field") == "message.text":
            errors.setdefault("text", str(problem.get("reason", error)))
    place = file.place if file is not None else str
    lacking = [
        Row(
            place(kept[m.position]),
            m.phone,
            "lacks " + ", ".join(f"{{{f}}}" for f in m.fields if f not in error.unknown),
        )
        for m in error.missing
        if any(f not in error.unknown for f in m.fields)
    ]
    if lacking:
        errors.setdefault("contacts", f"{len(lacking):,} contact(s) lack values the message needs")
    return _Audience(None, kept, rejects, lacking)


def check(
    form: CampaignForm, draft: Draft | None, *, now: datetime, default_region: str | None
) -> Checked:
    """Return the form checked and previewed; the command to create it when nothing blocks.

    Blocking (it parses the files): call it off the event loop.
    """
    errors: dict[str, str] = {}
    columns: list[str] = []
    if draft is not None and draft.contacts is not None:
        columns = [c for c in header_of(draft.contacts.data, encoding=form.encoding or None) if c]
    file = _read_file(form, draft, errors)
    pacing = pacing_of(form, errors)
    scheduled_for = schedule_of(form, now, errors)
    _image(draft, errors)
    options = CampaignOptions(
        auto_resume=form.auto_resume,
        check_numbers=form.check_numbers,
        simulate_typing=form.simulate_typing,
    )
    contacts: list[ContactInput] = file.contacts if file is not None else []
    request = ScheduleCampaign(
        name=form.name,
        text=form.text,
        contacts=contacts,
        session=form.session,
        scheduled_for=scheduled_for,
        pacing=pacing,
        options=options,
    )
    file_problem = errors.get("contacts")
    audience = _audience(request, file, default_region, errors)
    if file is None:
        # "no contacts" from the checks says less than why the file could not be read.
        if file_problem is None:
            errors.pop("contacts", None)
        return Checked(form, errors, columns=columns)
    preview = _preview(file, audience, request, scheduled_for)
    command = None
    if not errors and preview.creatable:
        command = replace(request, contacts=[contacts[i] for i in audience.kept])
    return Checked(form, errors, preview, command, columns)


def _preview(
    file: ContactsFile,
    audience: _Audience,
    request: ScheduleCampaign,
    scheduled_for: datetime | None,
) -> Preview:
    report = audience.report
    template = MessageTemplate(request.text)
    samples: list[Sample] = []
    duplicates: list[Row] = []
    variables: set[str] = set()
    if report is not None:
        for position, contact in enumerate(report.contacts[:SAMPLES]):
            where = file.place(audience.kept[report.rows[position]])
            samples.append(
                Sample(
                    where, contact.name or contact.phone, template.render(contact.template_values())
                )
            )
        duplicates = [
            Row(
                file.place(audience.kept[d.position]),
                d.value,
                f"the same number as {file.place(audience.kept[d.first_position])}: left out",
            )
            for d in report.duplicates[:LISTED]
        ]
        variables = {name for c in report.contacts[:1000] for name in c.template_values()}
    return Preview(
        rows=len(file.contacts),
        kept=len(report.contacts) if report is not None else 0,
        rejected=len(audience.rejects),
        rejects=audience.rejects[:LISTED],
        duplicates=duplicates,
        lacking=audience.lacking[:LISTED],
        warnings=list(file.warnings),
        samples=samples,
        variables=sorted(variables),
        scheduled_for=scheduled_for,
    )
