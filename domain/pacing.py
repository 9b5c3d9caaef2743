"""How long a campaign waits between contacts, and what a run may do on its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Final

from domain.errors import DomainError, InvalidPacingError
from domain.window import InvalidSettingError, SendWindow

# WAHA's advice against bans: random waits of tens of seconds, never a fixed interval.
DEFAULT_MIN_SECONDS: Final = 30.0
DEFAULT_MAX_SECONDS: Final = 60.0
MAX_WAIT_SECONDS: Final = 86_400.0  # a day between two contacts is already absurd
MAX_AUTO_RESUMES_PER_HOUR: Final = 20  # the campaign keeps this many resume times
MAX_PRIORITY: Final = 100
MAX_CONSECUTIVE_UNKNOWN: Final = 100


@dataclass(frozen=True)
class Pacing:
    """Bounds of the random wait between two contacts, in seconds."""

    min_seconds: float = DEFAULT_MIN_SECONDS
    max_seconds: float = DEFAULT_MAX_SECONDS

    def __post_init__(self) -> None:
        if not (
            0 <= self.min_seconds <= MAX_WAIT_SECONDS and 0 <= self.max_seconds <= MAX_WAIT_SECONDS
        ):
            raise InvalidPacingError(
                f"pacing seconds must be between 0 and {MAX_WAIT_SECONDS:g} (a day)"
            )
        if self.min_seconds > self.max_seconds:
            raise InvalidPacingError(
                f"pacing min_seconds ({self.min_seconds:g}) must not exceed "
                f"max_seconds ({self.max_seconds:g})"
            )

    def delay(self, fraction: float) -> float:
        """Return the wait for a random `fraction` in [0, 1]."""
        return self.min_seconds + (self.max_seconds - self.min_seconds) * fraction

    def to_record(self) -> dict[str, float]:
        """Return the pacing as JSON-native data for an event."""
        return {"min_seconds": float(self.min_seconds), "max_seconds": float(self.max_seconds)}

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> Pacing:
        """Rebuild pacing from the data `to_record` made."""
        return cls(float(str(record["min_seconds"])), float(str(record["max_seconds"])))


# Below this, WAHA's advice against bans is not followed: accepted, with a warning.
ADVISED_MIN_SECONDS: Final = 30.0


def pacing_problem(pacing: Pacing) -> str | None:
    """Return why a new campaign may not use `pacing`, or None.

    The wait must be random: equal bounds are refused, but for 0 and 0 (no wait at all, which
    tests and demos use). Campaigns recorded with equal bounds still load and run.
    """
    if pacing.min_seconds == pacing.max_seconds and pacing.max_seconds > 0:
        return (
            f"min_seconds and max_seconds are both {pacing.min_seconds:g}: the wait between "
            "contacts must be random, so give a range (e.g. 30 and 60); 0 and 0 (no wait at "
            "all) is allowed for tests and demos"
        )
    return None


def pacing_warnings(pacing: Pacing) -> list[str]:
    """Return what an operator should know about `pacing` before sending with it."""
    if pacing.max_seconds == 0:
        return [
            (
                "pacing is 0 seconds: no wait at all between contacts, fine for tests and demos "
                "but a ban risk on a real number"
            )
        ]
    if pacing.min_seconds < ADVISED_MIN_SECONDS:
        return [
            (
                f"pacing min_seconds {pacing.min_seconds:g} is below WAHA's advice of "
                f"{ADVISED_MIN_SECONDS:g} seconds between contacts: a ban risk on a real number"
            )
        ]
    return []


@dataclass(frozen=True)
class CampaignOptions:
    """Per-campaign choices about checks, courtesy and what the runner may decide alone."""

    auto_resume: bool = True
    check_numbers: bool = False
    simulate_typing: bool = False
    max_consecutive_failures: int = 5
    max_auto_resumes_per_hour: int = 3
    resend_in_doubt: bool = False
    # Campaigns on one session take turns by contact; a higher priority goes first.
    priority: int = 0
    # Outcomes in a row that say nothing surely reached WhatsApp (in doubt, connection
    # errors, 5xx) before the session's lane pauses with waha_unavailable.
    max_consecutive_unknown: int = 3
    # The campaign's own sending window ({days, start, end, timezone}), narrower than the
    # number's: both must be open to send. None: the number's alone.
    window: Mapping[str, object] | None = None

    def __post_init__(self) -> None:
        if self.max_consecutive_failures < 1:
            raise DomainError("max_consecutive_failures must be at least 1")
        if not -MAX_PRIORITY <= self.priority <= MAX_PRIORITY:
            raise DomainError(f"priority must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")
        if not 1 <= self.max_consecutive_unknown <= MAX_CONSECUTIVE_UNKNOWN:
            raise DomainError(
                f"max_consecutive_unknown must be between 1 and {MAX_CONSECUTIVE_UNKNOWN}"
            )
        if not 0 <= self.max_auto_resumes_per_hour <= MAX_AUTO_RESUMES_PER_HOUR:
            raise DomainError(
                f"max_auto_resumes_per_hour must be between 0 and {MAX_AUTO_RESUMES_PER_HOUR}"
            )
        if self.window is not None:
            try:
                SendWindow.parse(self.window)
            except InvalidSettingError as error:
                raise InvalidSettingError(f"options.{error.field}", error.reason) from None
        if self.resend_in_doubt:
            # Kept as a field so the policy is on each campaign's record; only "never" exists.
            raise DomainError(
                "resend_in_doubt is not supported: in-doubt contacts are never resent"
            )

    def to_record(self) -> dict[str, object]:
        """Return the options as JSON-native data for an event."""
        record = asdict(self)
        if self.window is not None:
            record["window"] = SendWindow.parse(self.window).to_record()
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> CampaignOptions:
        """Rebuild options from an event, ignoring names a later version may have added.

        Recorded options were valid when recorded; rules tightened since must not make an
        old campaign unreadable, so values are clamped to what this version can honour.
        """
        known = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        known["resend_in_doubt"] = False  # the only policy there is: never resend
        resumes = int(str(known.get("max_auto_resumes_per_hour", 3)))
        known["max_auto_resumes_per_hour"] = max(0, min(resumes, MAX_AUTO_RESUMES_PER_HOUR))
        known["max_consecutive_failures"] = max(
            1, int(str(known.get("max_consecutive_failures", 5)))
        )
        priority = int(str(known.get("priority", 0)))
        known["priority"] = max(-MAX_PRIORITY, min(priority, MAX_PRIORITY))
        unknown = int(str(known.get("max_consecutive_unknown", 3)))
        known["max_consecutive_unknown"] = max(1, min(unknown, MAX_CONSECUTIVE_UNKNOWN))
        window = known.get("window")
        if window is not None and not _readable_window(window):
            known["window"] = None  # e.g. a time zone gone from the database: the number's rules
        return cls(**known)  # type: ignore[arg-type]


def _readable_window(record: object) -> bool:
    if not isinstance(record, Mapping):
        return False
    try:
        SendWindow.parse(record)
    except InvalidSettingError:
        return False
    return True
