"""Campaign options: what a campaign may decide alone, validated before anything is recorded."""

from __future__ import annotations

import pytest

from domain.errors import DomainError
from domain.pacing import CampaignOptions


def test_in_doubt_contacts_are_never_resent_by_default() -> None:
    assert CampaignOptions().to_record()["resend_in_doubt"] is False


def test_asking_to_resend_in_doubt_contacts_is_refused_with_the_reason() -> None:
    with pytest.raises(DomainError, match="never resent"):
        CampaignOptions(resend_in_doubt=True)


@pytest.mark.parametrize(
    ("field", "value"), [("max_consecutive_failures", 0), ("max_auto_resumes_per_hour", -1)]
)
def test_out_of_range_limits_are_refused(field: str, value: int) -> None:
    with pytest.raises(DomainError, match=field):
        CampaignOptions(**{field: value})  # type: ignore[arg-type]


def test_options_from_a_later_version_keep_the_known_ones() -> None:
    record = {**CampaignOptions(check_numbers=True).to_record(), "a_future_option": 1}

    assert CampaignOptions.from_record(record) == CampaignOptions(check_numbers=True)
