"""What a campaign sends: a text, or an image whose caption is the text, rendered per contact."""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.errors import InvalidTemplateError
from domain.variation import check_choices, chosen, without_choices

_FORMATTER = string.Formatter()
# Template fields and variable names: a letter, then letters, digits or '_'. Names starting
# with '_' are refused too: the event store's JSON codec reserves keys like "_type_".
_VARIABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def is_variable_name(name: str) -> bool:
    """Return whether `name` may name a template field or a contact variable."""
    return _VARIABLE_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class MessageTemplate:
    """A text with `{name}`-style fields filled from each contact, then from campaign defaults.

    `variants` are other texts: each contact gets one of the text and its variants, and one
    alternative of each `{Hi|Hello}` choice in it (domain/variation.py), drawn from a seed.
    """

    text: str
    defaults: Mapping[str, str] = field(default_factory=dict)
    variants: tuple[str, ...] = ()

    @property
    def texts(self) -> tuple[str, ...]:
        """The text and its variants: each contact gets one of them."""
        return (self.text, *self.variants)

    def fields(self) -> frozenset[str]:
        """Return the fields any of the texts uses (a contact may get any), or raise.

        Raises InvalidTemplateError for a malformed text or a field that is not a plain name.
        """
        names: set[str] = set()
        for text in self.texts:
            names |= _fields_of(text)
        return frozenset(names)

    def missing_for(self, variables: Mapping[str, str]) -> frozenset[str]:
        """Return the fields that neither `variables` nor the defaults supply."""
        return frozenset(n for n in self.fields() if n not in variables and n not in self.defaults)

    def render(self, variables: Mapping[str, str], seed: str = "") -> str:
        """Return the text for one contact; the caller has checked `missing_for` is empty.

        `seed` (the attempt's id) draws the variant and the choices: the same seed gives the
        same text.
        """
        return chosen(self.texts, seed).format_map({**self.defaults, **variables})


@functools.lru_cache(maxsize=256)
def _fields_of(text: str) -> frozenset[str]:
    # Cached: a campaign's texts are checked once per contact of an audience of 100,000.
    check_choices(text)
    names: set[str] = set()
    try:
        for _, name, spec, conversion in _FORMATTER.parse(without_choices(text)):
            if name is None:
                continue
            if not is_variable_name(name):
                raise InvalidTemplateError(
                    f"template field {{{name}}} must be a plain name such as {{name}}"
                )
            if spec or conversion:
                raise InvalidTemplateError(f"template field {{{name}}} takes no format spec")
            names.add(name)
    except ValueError as error:
        raise InvalidTemplateError(f"template is malformed: {error}") from None
    return frozenset(names)


@dataclass(frozen=True)
class ImageReference:
    """A media file stored in the media folder, named by its content.

    Named for the images that came first; `kind` says how it is sent: image, document,
    video or voice (a voice note carries no caption, so the text is not sent with it).
    """

    media_id: str
    sha256: str
    mimetype: str
    size: int
    kind: str = "image"


@dataclass(frozen=True)
class MessageContent:
    """The campaign's message: the template, and the image it captions if there is one."""

    template: MessageTemplate
    image: ImageReference | None = None

    def to_record(self) -> dict[str, object]:
        """Return the message as JSON-native data for an event."""
        image = None
        if self.image is not None:
            image = {
                "media_id": self.image.media_id,
                "sha256": self.image.sha256,
                "mimetype": self.image.mimetype,
                "size": self.image.size,
                "kind": self.image.kind,
            }
        record: dict[str, object] = {
            "text": self.template.text,
            "defaults": dict(self.template.defaults),
            "image": image,
        }
        if self.template.variants:
            # Only when there are some: a campaign without variants records what it always did.
            record["variants"] = list(self.template.variants)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> MessageContent:
        """Rebuild the message from the data `to_record` made."""
        image = record.get("image")
        defaults = record.get("defaults") or {}
        assert isinstance(defaults, dict)  # noqa: S101 - event data we wrote ourselves
        variants = record.get("variants") or []
        assert isinstance(variants, list)  # noqa: S101 - event data we wrote ourselves
        template = MessageTemplate(
            text=str(record["text"]),
            defaults=dict(defaults),
            variants=tuple(str(v) for v in variants),
        )
        if not isinstance(image, dict):
            return cls(template=template)
        return cls(
            template=template,
            image=ImageReference(
                media_id=str(image["media_id"]),
                sha256=str(image["sha256"]),
                mimetype=str(image["mimetype"]),
                size=int(image["size"]),
                kind=str(image.get("kind") or "image"),  # before other kinds, all were images
            ),
        )
