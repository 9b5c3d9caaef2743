"""How long a campaign waits between contacts, and what a run may do on its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Final

from domain.errors import DomainError, InvalidPacingError

# WAHA's advice against bans: random waits of tens of seconds, never a fixed interval.
DEFAULT_MIN_SECONDS: Final = 30.0
DEFAULT_MAX_SECONDS: Final = 60.0


@dataclass(frozen=True)
class Pacing:
    """Bounds of the random wait between two contacts, in seconds."""

    min_seconds: float = DEFAULT_MIN_SECONDS
    max_seconds: float = DEFAULT_MAX_SECONDS

    def __post_init__(self) -> None:
        if self.min_seconds < 0 or self.max_seconds < 0:
            raise InvalidPacingError("pacing seconds must not be negative")
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


@dataclass(frozen=True)
class CampaignOptions:
    """Per-campaign choices about checks, courtesy and what the runner may decide alone."""

    auto_resume: bool = True
    check_numbers: bool = False
    simulate_typing: bool = False
    max_consecutive_failures: int = 5
    max_auto_resumes_per_hour: int = 3
    resend_in_doubt: bool = False

    def __post_init__(self) -> None:
        if self.max_consecutive_failures < 1:
            raise DomainError("max_consecutive_failures must be at least 1")
        if self.max_auto_resumes_per_hour < 0:
            raise DomainError("max_auto_resumes_per_hour must not be negative")
        if self.resend_in_doubt:
            # Kept as a field so the policy is on each campaign's record; only "never" exists.
            raise DomainError(
                "resend_in_doubt is not supported: in-doubt contacts are never resent"
            )

    def to_record(self) -> dict[str, object]:
        """Return the options as JSON-native data for an event."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> CampaignOptions:
        """Rebuild options from an event, ignoring names a later version may have added."""
        known = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        return cls(**known)  # type: ignore[arg-type]
