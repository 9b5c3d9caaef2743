"""Schemathesis fuzzes the API from its own /openapi.json: never a 5xx, always as documented."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from adapters.bootstrap import build, http_app
from adapters.http_api.openapi import openapi_document
from adapters.http_api.routes import ENDPOINTS
from tests.adapters.http_api.conftest import AUTH, make_settings
from tests.adapters.http_api.served import served
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom

SEED = 20260711
EXAMPLES = 30
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 6
# A schema cannot say "a phone number WhatsApp knows", "an id POST /media returned" or "an
# image": requests the schema allows may still be refused for what they mean, with the
# statuses the document gives for it. An edit may name media that was never uploaded or a
# text whose {fields} the contacts lack; a retry may ask for failed contacts of a campaign
# that has none: both are 422s the schema cannot foresee.
ACCEPTED: Final = ["2xx", "401", "404", "409"]
REFUSED: Final = ["400", "401", "404", "405", "409", "415", "422"]
MEANING_REFUSED: Final = {
    "create_campaign": ("422",),
    "preview_campaign": ("422",),
    "upload_media": ("415",),
    "waha_webhook": ("400",),
    # Neither can it say "a time zone", "a day's name" or "a phone number"; 10,000 phones
    # may be asked for at once, which is more than this test's upload limit.
    "change_session_settings": ("422",),
    "add_opt_outs": ("422", "413"),
    "edit_campaign": ("422",),
    "retry_campaign": ("422",),
}


def _meaning_refused(operation_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    expected = {"expected-statuses": [*ACCEPTED, *statuses]}
    return {"include-operation-id": operation_id, "checks": {"positive_data_acceptance": expected}}


def fuzz_config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": AUTH,
            "checks": {
                "enabled": True,
                # Whatever else is wrong with it, a body over the limit is refused as too large.
                "negative_data_rejection": {"expected-statuses": [*REFUSED, "413"]},
            },
            "generation": {"max-examples": EXAMPLES, "deterministic": True},
            "operations": [_meaning_refused(*item) for item in MEANING_REFUSED.items()],
        }
    )


@contextlib.contextmanager
def fresh_api(folder: Path) -> Iterator[str]:
    """Serve the API on a store of its own in `folder`; yield its base URL."""
    # Unsigned webhooks are accepted here, so that fuzzing reaches past the signature check.
    folder.mkdir(parents=True, exist_ok=True)
    clock = ManualClock()
    services = build(
        make_settings(folder, waha_webhook_hmac_key=None),
        clock=clock,
        sleeper=InstantSleeper(clock),
        rng=SeededRandom(0.5),
    )
    app = http_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
    try:
        with served(app) as base_url:
            yield base_url
    finally:
        services.close()


@pytest.fixture
def api_url(tmp_path: Path) -> Iterator[str]:
    with fresh_api(tmp_path) as base_url:
        yield base_url


# Built from the route table, as the served /openapi.json is.
schema = schemathesis.openapi.from_dict(openapi_document(ENDPOINTS), config=fuzz_config())


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Case[Any], api_url: str) -> None:
    response: Any = case.call_and_validate(base_url=api_url)
    assert response.status_code < 500


def test_chains_of_operations_answer_as_documented(tmp_path: Path) -> None:
    # Links inferred from the document: a campaign created, then shown, paused, cancelled...
    # Every scenario starts from an empty store of its own: Hypothesis replays a scenario's
    # choices and must meet the same answers (GET /sessions lists what earlier scenarios
    # set up, and a different answer is "inconsistent data generation" to it).
    machine = schema.as_state_machine()
    called: list[str] = []
    scenarios = itertools.count()

    class AgainstTheServedApi(machine):  # type: ignore[valid-type,misc]
        def setup(self) -> None:
            self.stack = contextlib.ExitStack()
            self.base_url = self.stack.enter_context(
                fresh_api(tmp_path / f"scenario-{next(scenarios)}")
            )

        def teardown(self) -> None:
            self.stack.close()

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            called.append(case.operation.label)
            return {"base_url": self.base_url}

    AgainstTheServedApi.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )

    assert len(set(called)) > 1  # chains were walked, not one operation alone
