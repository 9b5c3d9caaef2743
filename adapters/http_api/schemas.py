"""The API's request and response shapes (pydantic, edge only); /openapi.json is built from them."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, get_type_hints
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    create_model,
    field_validator,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from adapters.contacts_file import encoding_problem
from app.errors import MAX_ROWS_ANSWERED
from app.scheduling import MAX_NAME_LENGTH
from app.views import CampaignView
from domain.lifecycle import CampaignStatus
from domain.pacing import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_MIN_SECONDS,
    MAX_CONSECUTIVE_UNKNOWN,
    MAX_PRIORITY,
    CampaignOptions,
)

_OPTIONS = CampaignOptions()
MAX_PAGE: Final = 1000
# SQLite's INTEGER: a larger position or version would overflow the store's query.
MAX_POSITION: Final = 2**63 - 1
# A day between two contacts is already absurd; beyond it, a typo.
MAX_PACING_SECONDS: Final = 86_400.0
# How far ahead a campaign may be scheduled: further is a typo, not a plan.
MAX_SCHEDULE_AHEAD: Final = timedelta(days=366)
MAX_VARIABLE_NAME: Final = 64
# Names a template can use as {field}: what MessageTemplate can fill.
VARIABLE_NAME: Final = re.compile(rf"[A-Za-z][A-Za-z0-9_]{{0,{MAX_VARIABLE_NAME - 1}}}")
VARIABLE_NAME_RULE: Final = (
    f"a letter, then letters, digits or _ (at most {MAX_VARIABLE_NAME} characters)"
)
_VARIABLE_NAMES_SCHEMA: Final[JsonDict] = {
    "propertyNames": {"pattern": f"^{VARIABLE_NAME.pattern}$", "maxLength": MAX_VARIABLE_NAME}
}


def _variable_name(name: str) -> str:
    if not VARIABLE_NAME.fullmatch(name):
        raise PydanticCustomError("variable_name", "not a variable name: " + VARIABLE_NAME_RULE)
    return name


# Keys checked one by one, so that a problem names its key: message.defaults.<name>.
VariableName = Annotated[str, AfterValidator(_variable_name)]


# The rules app.scheduling applies, stated in the schema rather than enforced here, so that
# one request gets every problem at once, in the application's words.
_NOT_BLANK: Final[JsonDict] = {"minLength": 1, "pattern": r"\S"}
SESSION_NAME_PATTERN: Final = "^[A-Za-z0-9_-]{1,64}$"
# What the webhook reader takes as an event name: text without control characters.
WEBHOOK_EVENT_PATTERN: Final = r"^[^\u0000-\u001f\u007f-\u009f\ud800-\udfff]+$"


class _Input(BaseModel):
    # A misspelt field would otherwise be dropped silently and its default used instead.
    model_config = ConfigDict(extra="forbid")


# -- requests -----------------------------------------------------------------------------------


class MessageIn(_Input):
    """The message: a text, or an image (uploaded with POST /media) captioned by the text."""

    text: str = Field(
        description=(
            "Template with {field}s filled from each contact's variables; not empty or blank."
        ),
        json_schema_extra=_NOT_BLANK,
    )
    media_id: str | None = Field(
        default=None,
        description=(
            "An id returned by POST /media: an image, document or video is captioned by the "
            "text; a voice note carries no caption, so the text is not sent with it (the "
            "answer's warnings say so)."
        ),
    )
    defaults: dict[VariableName, str] = Field(
        default_factory=dict,
        description="Values for template fields a contact does not have.",
        json_schema_extra=_VARIABLE_NAMES_SCHEMA,
    )
    variants: list[str] = Field(
        default_factory=list,
        max_length=50,
        description=(
            "Other texts: each contact gets one of text and these at random (drawn from the "
            "attempt's id, so a replay shows the same). In any text, {Hi|Hello|Hey} gives "
            "each contact one of the alternatives; {name} stays a field."
        ),
    )


class ContactIn(_Input):
    """One contact as given; the phone is normalised and checked when the campaign is scheduled."""

    phone: str = Field(description="International number, e.g. +4915112345678.")
    name: str | None = None
    variables: dict[VariableName, str] = Field(
        default_factory=dict,
        description="Values for the template's {field}s, by field name.",
        json_schema_extra=_VARIABLE_NAMES_SCHEMA,
    )


class PacingIn(_Input):
    """Bounds, in seconds, of the random wait between two contacts."""

    min_seconds: FiniteFloat = Field(default=DEFAULT_MIN_SECONDS, ge=0, le=MAX_PACING_SECONDS)
    max_seconds: FiniteFloat = Field(default=DEFAULT_MAX_SECONDS, ge=0, le=MAX_PACING_SECONDS)


class OptionsIn(_Input):
    """Per-campaign choices; each defaults as shown."""

    auto_resume: bool = _OPTIONS.auto_resume
    check_numbers: bool = _OPTIONS.check_numbers
    simulate_typing: bool = _OPTIONS.simulate_typing
    max_consecutive_failures: int = _OPTIONS.max_consecutive_failures
    max_auto_resumes_per_hour: int = _OPTIONS.max_auto_resumes_per_hour
    resend_in_doubt: bool = _OPTIONS.resend_in_doubt
    priority: int = Field(
        default=_OPTIONS.priority,
        ge=-MAX_PRIORITY,
        le=MAX_PRIORITY,
        description=(
            "Campaigns on one session take turns contact by contact; only the highest "
            "priority running takes turns, equal ones alternate."
        ),
    )
    max_consecutive_unknown: int = Field(
        default=_OPTIONS.max_consecutive_unknown,
        ge=1,
        le=MAX_CONSECUTIVE_UNKNOWN,
        description=(
            "Sends in a row with no sure outcome (a lost answer, a 5xx) before the session's "
            "sends pause with waha_unavailable."
        ),
    )
    window: dict[str, Any] | None = Field(
        default=None,
        description=(
            "The campaign's own sending window, narrower than the number's: {days, start, "
            "end, timezone} as in PUT /sessions/{session}/settings. Both must be open to send."
        ),
    )


class CampaignFields(_Input):
    """A campaign without its contacts: the `campaign` field of the multipart form."""

    name: str = Field(
        description=f"Not empty or blank; at most {MAX_NAME_LENGTH} characters.",
        json_schema_extra={**_NOT_BLANK, "maxLength": MAX_NAME_LENGTH},
    )
    session: str = Field(
        default="default",
        description="The WAHA session that sends: letters, digits, - and _ (1 to 64).",
        json_schema_extra={"pattern": SESSION_NAME_PATTERN},
    )
    message: MessageIn
    scheduled_for: datetime | None = Field(
        default=None,
        description=(
            "ISO 8601 with a UTC offset; absent or null means now; at most 366 days ahead."
        ),
    )
    pacing: PacingIn = Field(default_factory=PacingIn)
    options: OptionsIn = Field(default_factory=OptionsIn)
    phone_column: str | None = Field(
        default=None,
        max_length=200,
        description=(
            "With a contacts file: the column that holds the phones (default `phone`), "
            "matched as every column name is, ignoring case, spaces, hyphens and dots."
        ),
    )
    encoding: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "With a contacts CSV that is not UTF-8: its encoding, a Python codec name such as "
            "cp1252 or latin-1. Unused with XLSX or with contacts in JSON."
        ),
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        problem = None if value is None else encoding_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("scheduled_for", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        # pydantic would also take epoch numbers; the contract is ISO 8601 text only.
        if value is not None and not isinstance(value, str):
            raise ValueError("must be ISO 8601 text, e.g. 2026-12-01T09:00:00+01:00")
        return value


class CampaignIn(CampaignFields):
    """A campaign to schedule, as a JSON body."""

    contacts: list[ContactIn] = Field(
        description="At least one; rows that reach a chat already listed are dropped.",
        json_schema_extra={"minItems": 1},
    )


class CampaignUpload(_Input):
    """A campaign to schedule, as multipart/form-data with its contacts as a file."""

    campaign: CampaignFields = Field(
        description=(
            "JSON: every field of CampaignIn but contacts (name, session, message, ..., "
            "phone_column, encoding)."
        ),
    )
    contacts: bytes = Field(
        description=(
            "CSV (`,` `;` or tab; UTF-8, or the campaign's `encoding`) or XLSX (its first "
            "sheet), told apart by content. The first row is the header; its names are matched "
            "ignoring case, and spaces, hyphens and dots become `_` (`First Name` is "
            "first_name). The phone column is `phone` or the campaign's `phone_column`; `name` "
            "is the contact's name; every other column whose name can be a variable is one "
            "(an empty cell leaves it to the defaults). Other columns, and later columns of a "
            "repeated name, are ignored and listed in the answer's `warnings`. Empty rows are "
            "skipped; problems name data rows from 0 as contacts[i]."
        ),
    )


class MediaUpload(_Input):
    """A media file to store, as multipart/form-data."""

    file: bytes = Field(
        description=(
            "An image (PNG, JPEG, GIF, WebP), a document (PDF, DOCX, XLSX, PPTX, ODT, ODS, "
            "ODP, ZIP), a video (MP4, WebM, 3GP) or a voice note (OGG/Opus, MP3, M4A, AMR); "
            "the kind is read from the bytes, never from the name. The part's filename is "
            "kept: a document shows it in the chat."
        )
    )


class WebhookIn(BaseModel):
    """WAHA's webhook envelope: session.status, message.ack and opt-out replies acted on."""

    # WAHA adds fields over its versions, and events this service ignores are taken whatever
    # they carry: only `event` is checked for every envelope, so only it has a type here.
    model_config = ConfigDict(extra="allow")

    event: str = Field(
        description="WAHA's event name, e.g. session.status or message.ack.",
        json_schema_extra={"pattern": WEBHOOK_EVENT_PATTERN},
    )
    session: Any = Field(default=None, description="Text: the WAHA session it is about.")
    id: Any = Field(
        default=None,
        description=(
            "Text: the envelope's id; a repeat is answered duplicate. Without one, the sha256 "
            "of the raw body stands for it."
        ),
    )
    timestamp: Any = Field(
        default=None,
        description="Milliseconds since 1970-01-01 UTC; over an hour old is answered stale.",
    )
    payload: Any = Field(
        default=None,
        description="An object: what the event carries, in WAHA's shape for the event.",
    )


class CancelIn(_Input):
    """Why the operator cancels; optional."""

    reason: str = Field(default="cancelled by operator", min_length=1, max_length=500)


# -- query strings ------------------------------------------------------------------------------


class CampaignsQuery(BaseModel):
    """Filter and page of GET /campaigns."""

    status: CampaignStatus | None = Field(default=None, description="Only campaigns in it.")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: int = Field(
        default=0, ge=0, le=MAX_POSITION, description="The next_cursor of the previous page."
    )


def _old_cursor() -> Any:
    return Field(
        default=None,
        ge=0,
        le=MAX_POSITION,
        description="The older name of cursor, still taken; cursor wins when both are given.",
        json_schema_extra={"deprecated": True},
    )


class _Page(BaseModel):
    """A page of a list: at most `limit` items after `cursor`, the previous page's next_cursor."""

    limit: int = Field(default=100, ge=1, le=MAX_PAGE)
    cursor: int | None = Field(
        default=None,
        ge=0,
        le=MAX_POSITION,
        description="The next_cursor of the previous page; absent (or 0) is the start.",
    )

    def start(self, old: int | None) -> int:
        """Return where the page starts: the cursor, else its older name, else the start."""
        if self.cursor is not None:
            return self.cursor
        return old or 0


class HistoryQuery(_Page):
    """Page of a campaign's events."""

    after_version: int | None = _old_cursor()

    @property
    def after(self) -> int:
        """The version the page starts after."""
        return self.start(self.after_version)


OutcomeFilter = Literal["sent", "failed", "skipped", "in_doubt", "pending"]
DeliveryFilter = Literal["error", "pending", "server", "delivered", "read", "played"]


class ContactsQuery(BaseModel):
    """Page and filters of a campaign's contacts; outcome and delivery may repeat or use commas."""

    limit: int = Field(default=100, ge=1, le=MAX_PAGE, description="Ignored for CSV: it is whole.")
    cursor: int | None = Field(
        default=None, ge=0, le=MAX_POSITION, description="The next_cursor of the previous page."
    )
    outcome: list[OutcomeFilter] | None = Field(
        default=None, description="Only contacts with one of these outcomes (pending: none yet)."
    )
    delivery: list[DeliveryFilter] | None = Field(
        default=None, description="Only contacts whose highest ack is one of these states."
    )


class StoredEventsQuery(_Page):
    """Page of the whole store's events."""

    after: int | None = _old_cursor()

    @property
    def position(self) -> int:
        """The position the page starts after."""
        return self.start(self.after)


# -- responses ----------------------------------------------------------------------------------


def answer_model(view: type[Any], name: str) -> type[BaseModel]:
    """Return the schema of an answer built from `view` (a dataclass): its fields, all present.

    The view declares what a campaign looks like once; the API's document follows it.
    """
    hints = get_type_hints(view)
    fields: dict[str, Any] = {f.name: (hints[f.name], ...) for f in dataclasses.fields(view)}
    model: type[BaseModel] = create_model(name, __doc__=view.__doc__, **fields)
    return model


if TYPE_CHECKING:
    CampaignOut = BaseModel  # a model made at import: to the type checker, a model
else:
    CampaignOut = answer_model(CampaignView, "CampaignOut")


class DuplicateOut(BaseModel):
    """A row dropped because an earlier row reaches the same chat."""

    position: int
    value: str
    first_position: int


class CampaignCreatedOut(CampaignOut):
    """The new campaign, the rows dropped as duplicates, and what the contacts file ignored."""

    duplicates: list[DuplicateOut] = Field(
        description=(
            "The rows dropped because an earlier row reaches the same chat, in row order: "
            f"the first {MAX_ROWS_ANSWERED:,} of them (`duplicates_total` counts them all)."
        )
    )
    duplicates_total: int = Field(
        description="How many rows were dropped as duplicates; 0 on a repeat answered from "
        "its Idempotency-Key."
    )
    warnings: list[str] = Field(
        description=(
            "What the operator should know: columns of the contacts file that were ignored, "
            "a session WAHA could not be asked about or that does not work now, a voice note "
            "whose text is not sent, pacing below WAHA's advice (30 s) or none at all. Empty on "
            "a repeat answered from its Idempotency-Key."
        )
    )


class CampaignPage(BaseModel):
    """One page of campaigns, oldest first."""

    items: list[CampaignOut]
    next_cursor: int | None = Field(description="Pass as cursor for the next page; null at end.")


class HistoryEntryOut(BaseModel):
    """One recorded event of a campaign."""

    version: int
    type: str
    timestamp: datetime
    data: dict[str, Any]


class HistoryPage(BaseModel):
    """One page of a campaign's events, in version order."""

    items: list[HistoryEntryOut]
    next_cursor: int | None = Field(description="Pass as cursor for the next page; null at end.")
    next_after_version: int | None = Field(
        description="The older name of next_cursor (the same value), for existing clients."
    )


class StoredEventOut(BaseModel):
    """One event of the whole store, in commit order."""

    position: int
    campaign_id: UUID = Field(description="The id of the aggregate that recorded it.")
    version: int
    type: str
    timestamp: datetime
    data: dict[str, Any]


class StoredEventsPage(BaseModel):
    """One page of the store's events, in commit order."""

    items: list[StoredEventOut]
    next_cursor: int | None = Field(description="Pass as cursor for the next page; null at end.")
    next_after: int | None = Field(
        description="The older name of next_cursor (the same value), for existing clients."
    )


class ContactReportOut(BaseModel):
    """What happened to one contact (ContactReport.as_dict)."""

    index: int
    chat_id: str
    phone: str
    name: str | None
    outcome: Literal["sent", "failed", "skipped", "in_doubt"] | None
    message_id: str | None
    error: str | None
    attempted_at: datetime | None
    delivery: str | None = Field(description="From WAHA's acks: e.g. server, delivered, read.")


class ContactReportPage(BaseModel):
    """One page of a campaign's contacts, in audience order."""

    items: list[ContactReportOut]
    next_cursor: int | None = Field(
        description="Pass as cursor for the next page (the last index here); null at the end."
    )


class MediaOut(BaseModel):
    """A stored media file; its id is its sha256."""

    id: str
    sha256: str
    mimetype: str
    size: int
    kind: Literal["image", "document", "video", "voice"] = Field(
        description="How it is sent: sendImage, sendFile, sendVideo or sendVoice."
    )
    filename: str | None = Field(
        description="The name it was uploaded with (its extension the true one), if any."
    )


class HealthOut(BaseModel):
    """The service is up."""

    status: Literal["ok"]


class WebhookOut(BaseModel):
    """What became of a webhook."""

    status: Literal["recorded", "duplicate", "ignored", "stale"] = Field(
        description="stale: WAHA's timestamp is over an hour old (or ahead); nothing was done."
    )


class FieldProblem(BaseModel):
    """One invalid field of a request."""

    field: str
    reason: str
    value: Any = None


class Problem(BaseModel):
    """An error, as application/problem+json (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(default=None, description="For invalid input.")
    campaign_status: CampaignStatus | None = Field(
        default=None, description="For 409: the state the campaign is in."
    )
    max_bytes: int | None = Field(
        default=None,
        description=(
            "For 413: the largest body taken (CAMPAIGNS_MAX_UPLOAD_BYTES), or the largest file "
            "of its media_kind (CAMPAIGNS_MAX_<KIND>_BYTES)."
        ),
    )
    media_kind: Literal["image", "document", "video", "voice"] | None = Field(
        default=None, description="For 413 from POST /media: the kind of the file refused."
    )
    campaign_id: UUID | None = Field(
        default=None,
        description=(
            "For 409 idempotency-conflict: the campaign the key made; for 409 "
            "retried-already: the campaign that retries this one."
        ),
    )


# -- editing and retrying (appended: PATCH /campaigns/{id}, POST /campaigns/{id}/retry) --------


class MessagePatch(_Input):
    """Message fields to change; those left out (or null, but media_id) stay as they are."""

    text: str | None = Field(
        default=None,
        description="A new template; not empty or blank. Checked against every contact.",
        json_schema_extra=_NOT_BLANK,
    )
    media_id: str | None = Field(
        default=None,
        description="An id returned by POST /media; null removes the media, absent keeps it.",
    )
    defaults: dict[VariableName, str] | None = Field(
        default=None,
        description="Replaces every default value for template fields.",
        json_schema_extra=_VARIABLE_NAMES_SCHEMA,
    )


class PacingPatch(_Input):
    """Pacing bounds to change; the other bound stays as it is."""

    min_seconds: FiniteFloat | None = Field(default=None, ge=0, le=MAX_PACING_SECONDS)
    max_seconds: FiniteFloat | None = Field(default=None, ge=0, le=MAX_PACING_SECONDS)


class OptionsPatch(_Input):
    """Options to change; those left out stay as they are."""

    auto_resume: bool | None = None
    check_numbers: bool | None = None
    simulate_typing: bool | None = None
    max_consecutive_failures: int | None = None
    max_auto_resumes_per_hour: int | None = None
    resend_in_doubt: bool | None = None
    priority: int | None = Field(default=None, ge=-MAX_PRIORITY, le=MAX_PRIORITY)
    max_consecutive_unknown: int | None = Field(default=None, ge=1, le=MAX_CONSECUTIVE_UNKNOWN)
    window: dict[str, Any] | None = Field(
        default=None,
        description=(
            "The campaign's own sending window, {days, start, end, timezone}; null removes it "
            "(the number's window alone applies), absent keeps it."
        ),
    )


class CampaignPatch(_Input):
    """Changes to a Scheduled campaign; every field is optional, and absent ones stay."""

    name: str | None = Field(
        default=None,
        description=f"Not empty or blank; at most {MAX_NAME_LENGTH} characters.",
        json_schema_extra={**_NOT_BLANK, "maxLength": MAX_NAME_LENGTH},
    )
    message: MessagePatch | None = None
    scheduled_for: datetime | None = Field(
        default=None,
        description=(
            "ISO 8601 with a UTC offset, at most 366 days ahead; null means now (the campaign "
            "starts at once), absent keeps the schedule."
        ),
    )
    pacing: PacingPatch | None = None
    options: OptionsPatch | None = None

    @field_validator("scheduled_for", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError("must be ISO 8601 text, e.g. 2026-12-01T09:00:00+01:00")
        return value


class CampaignEditedOut(CampaignOut):
    """The campaign after the edit, what changed, and what the operator should know."""

    changed: list[Literal["name", "message", "pacing", "scheduled_for", "options"]] = Field(
        description="The fields recorded as changed (CampaignEdited); empty: nothing changed."
    )
    warnings: list[str] = Field(description="E.g. a voice note, whose text is not sent.")


RetriedOutcome = Literal["failed", "in_doubt"]


def _failed() -> list[RetriedOutcome]:
    return ["failed"]


class RetryIn(_Input):
    """Which contacts of a finished or paused campaign to send the message again."""

    outcomes: list[RetriedOutcome] = Field(
        default_factory=_failed,
        description=(
            "Contacts with these outcomes; in_doubt needs include_in_doubt. Sent contacts were "
            "reached and skipped ones were skipped for a reason, so neither is retried."
        ),
        json_schema_extra={"minItems": 1},
    )
    include_in_doubt: bool = Field(
        default=False,
        description=(
            "Also in-doubt contacts: WAHA may have delivered their message, so they may get it "
            "twice."
        ),
    )
