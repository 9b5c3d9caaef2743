"""`verify`: check the event log's invariants, from stored events alone, for auditors and CI."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from adapters import bootstrap
from adapters.cli.arguments import (
    STORE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    add_database_option,
    add_json_option,
    campaign_id,
)
from adapters.cli.output import Progress, Style, to_json
from adapters.cli.store_access import run_on_store
from app.audit import CampaignAudit, Violation, audit_campaign, campaign_ids_in_log
from app.audit.read_model_check import read_model_position, read_model_violations
from app.campaigns import CampaignsApp

RULES = """rules (the code printed with each violation):
  version-gap              versions are not contiguous: an event is missing
  undecodable-event        a stored event cannot be read
  not-scheduled-first      the log does not start with CampaignScheduled
  scheduled-twice          a second CampaignScheduled
  contact-out-of-range     an outcome for a contact the audience does not have
  contact-handled-twice    two outcomes (ContactAttempted) for one contact
  contact-sent-twice       one contact was sent the message twice
  outcome-without-attempt  an outcome names a send that was never started
  attempt-mismatch         an outcome names a send started for another contact
  pause-index              a pause is not at the next unhandled contact
  resume-index             a resume is not at the next unhandled contact
  cancel-index             a cancel is not at the next unhandled contact
  completed-incomplete     completed with contacts that have no outcome
  totals-mismatch          CampaignCompleted's totals differ from the outcomes recorded
  counts-mismatch          the rebuilt state's counts differ from the outcomes recorded
  state-unloadable         the campaign cannot be rebuilt from its log
  event-after-end          an event after CampaignCompleted or CampaignCancelled
  read-model-mismatch      a row of the per-contact read model differs from the events
  read-model-behind        the read model has not applied the whole log (with --strict)

"""


def add_parser(subparsers: Subparsers) -> None:
    """Add `verify`."""
    parser = add_command(
        subparsers,
        "verify",
        summary="check the event log's invariants; non-zero exit on any violation",
        description=(
            "Read each campaign's events straight from the store (not its rebuilt state) and "
            "check that nothing is missing, nobody was handled or sent twice, every pause "
            "points at the next contact and the counts add up. Without ID: every campaign."
        ),
        exits={**STORE_EXITS, ExitCode.FAILED: "at least one violation was found"},
    )
    parser.epilog = RULES + (parser.epilog or "")
    parser.add_argument("id", type=campaign_id, nargs="?", metavar="ID")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also fail when the per-contact read model is behind the log",
    )
    add_json_option(parser)
    add_database_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify one campaign, or all of them."""
    return run_on_store(args, lambda app: _verify(app, args))


def _verify(app: CampaignsApp, args: argparse.Namespace) -> int:
    style = Style.for_stdout()
    if args.id is not None:
        audits = [audit_campaign(app, args.id)]
    else:
        ids = campaign_ids_in_log(app)
        if not ids:
            print("no campaigns in the store", file=sys.stderr)
            return ExitCode.OK
        progress = Progress("verifying campaigns")
        audits = []
        for done, found in enumerate(ids, start=1):
            audits.append(audit_campaign(app, found))
            progress.update(done, len(ids))
        progress.close()
    audits, behind = _with_read_model(app, audits, strict=args.strict)
    for audit in audits:
        print(to_json(audit.as_dict()) if args.json else _report(audit, style))
    failed = [a for a in audits if a.violations]
    if not args.json:
        events = sum(a.events for a in audits)
        violations = sum(len(a.violations) for a in failed)
        verdict = (
            style.paint(f"{violations} violation(s) in {len(failed)} campaign(s)", "red")
            if failed
            else style.paint("no violations", "green")
        )
        print(f"verified {len(audits)} campaign(s), {events:,} events: {verdict}")
    if behind is not None:
        print(behind, file=sys.stderr)
    return ExitCode.FAILED if failed else ExitCode.OK


def _with_read_model(
    app: CampaignsApp, audits: list[CampaignAudit], *, strict: bool
) -> tuple[list[CampaignAudit], str | None]:
    """Add what the read model gets wrong to each campaign's audit; say if it is behind."""
    contacts = bootstrap.stored_read_model(app)
    if contacts is None:
        return audits, "no per-contact read model in this store: not compared"
    where = read_model_position(app, contacts)
    if where.behind:
        # Rows missing what the log says since would all look wrong: compare a current model.
        note = (
            f"the per-contact read model is at position {where.position:,} of the log's "
            f"{where.log_position:,} (the service catches it up; or run `projections rebuild`): "
            "rows not compared"
        )
        if not strict:
            return audits, note
        extra = Violation("read-model-behind", note)
        return [replace(a, violations=[*a.violations, extra]) for a in audits], None
    checked = [
        replace(a, violations=[*a.violations, *read_model_violations(app, contacts, a.campaign_id)])
        for a in audits
    ]
    return checked, None


def _report(audit: CampaignAudit, style: Style) -> str:
    head = f"campaign {audit.campaign_id} ({audit.events:,} events)"
    if not audit.violations:
        return f"{style.paint('ok  ', 'green')}  {head}"
    lines = [f"{style.paint('FAIL', 'red')}  {head}"]
    for violation in audit.violations:
        where = f"v{violation.version} " if violation.version is not None else ""
        lines.append(f"      {where}{style.paint(violation.rule, 'red')}: {violation.detail}")
    return "\n".join(lines)
