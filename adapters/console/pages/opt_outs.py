"""The opt-outs page: the list (searched, a page at a time), add, remove, import a file, export."""

from __future__ import annotations

import csv
import io
from typing import Any, Final

from aiohttp import web

from adapters.console.opt_outs_page import (
    ADDED_NOTE,
    MAX_QUERY,
    PER_PAGE,
    REMOVED_NOTE,
    AddForm,
    ImportForm,
    ImportRefusedError,
    ImportReport,
    back_to,
    check_add,
    import_opt_outs,
    opt_out_listing,
    source_words,
)
from adapters.console.pages.common import context_of, form_of, session_of, state_of, whole
from adapters.console.rendering import HEADERS, NO_STORE, page
from adapters.contact_csv import FORMULA_STARTS
from app.blocking import off_loop
from app.errors import ConcurrentUpdateError
from app.opt_outs import InvalidOptOutError

ENCODINGS: Final = (
    ("", "UTF-8 (or as the file declares)"),
    ("cp1252", "Windows (cp1252)"),
    ("latin-1", "Latin-1"),
)
EXPORT_COLUMNS: Final = ("phone", "source", "at", "note")
_MAX_FILENAME: Final = 120
_MAX_PHONE: Final = 40


async def _caught_up(request: web.Request) -> None:
    # Read our own writes, and what other processes recorded: one cheap query when nothing is new.
    await off_loop(context_of(request).follower.catch_up)


async def _list_page(
    request: web.Request,
    *,
    query: str = "",
    page_number: int = 1,
    add_form: AddForm | None = None,
    add_errors: dict[str, str] | None = None,
    import_form: ImportForm | None = None,
    import_errors: dict[str, str] | None = None,
    report: ImportReport | None = None,
    status: int = 200,
) -> web.Response:
    await _caught_up(request)
    found = state_of(request).opt_outs.search(
        query, offset=(page_number - 1) * PER_PAGE, limit=PER_PAGE
    )
    values: dict[str, Any] = {
        "listing": opt_out_listing(found, query=query, page=page_number),
        "add_form": add_form or AddForm(),
        "add_errors": add_errors or {},
        "import_form": import_form or ImportForm(),
        "import_errors": import_errors or {},
        "report": report,
        "encodings": ENCODINGS,
    }
    return page(request, "opt_outs.html", values, status=status)


async def opt_outs_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/opt-outs: the list, newest first; `q` searches it, `page` pages it."""
    query = request.query.get("q", "").strip()[:MAX_QUERY]
    return await _list_page(request, query=query, page_number=whole(request.query.get("page"), 1))


async def add_opt_out(request: web.Request) -> web.StreamResponse:
    """POST /ui/opt-outs: put one phone on the list; a bad phone is shown next to its field."""
    form = AddForm.from_post(await form_of(request))
    book = context_of(request).opt_outs
    checked = check_add(book, form)
    if checked.errors or checked.phone is None:
        return await _list_page(request, add_form=form, add_errors=checked.errors, status=422)
    phone = checked.phone
    try:
        added = await off_loop(book.add, [phone], source="api", note=form.note or ADDED_NOTE)
    except InvalidOptOutError as error:  # checked above with the same rules: a safety net
        errors = {"phone": str(error)}
        return await _list_page(request, add_form=form, add_errors=errors, status=422)
    except ConcurrentUpdateError as error:
        errors = {"phone": f"{error}"}
        return await _list_page(request, add_form=form, add_errors=errors, status=409)
    session = session_of(request)
    if added.added:
        session.notify(f"{phone} is on the opt-out list: no campaign will message it.", "success")
    else:
        session.notify(f"{phone} was on the opt-out list already; nothing changed.", "info")
    raise web.HTTPSeeOther(back_to(None))


async def confirm_removal(request: web.Request) -> web.StreamResponse:
    """GET /ui/opt-outs/remove?phone=: who asked not to be messaged, and the button that removes.

    A removal lets every campaign message the person again: it is asked for twice, as a
    campaign's cancel is.
    """
    phone = request.query.get("phone", "").strip()[:_MAX_PHONE]
    entry = await off_loop(context_of(request).opt_outs.entry, phone) if phone else None
    values = {
        "phone": phone,
        "entry": entry,
        "entry_said": None if entry is None else source_words(entry.source),
        "back": back_to(request.query.get("back")),
    }
    return page(request, "remove_opt_out.html", values, status=200 if entry else 404)


async def remove_opt_out(request: web.Request) -> web.StreamResponse:
    """POST /ui/opt-outs/remove: take a phone off the list, back to the page it was shown on."""
    form = await form_of(request)
    phone = form.get("phone", "").strip()
    session = session_of(request)
    try:
        removed = await off_loop(context_of(request).opt_outs.remove, phone, note=REMOVED_NOTE)
    except InvalidOptOutError:
        removed = False
    except ConcurrentUpdateError as error:
        session.notify(f"Not removed: {error}.", "error")
        raise web.HTTPSeeOther(back_to(form.get("back"))) from None
    if removed:
        session.notify(
            f"{phone} is off the opt-out list: campaigns may message it again.", "success"
        )
    else:
        named = phone[:40] or "That phone"
        session.notify(f"{named} is not on the opt-out list: nothing to remove.", "error")
    raise web.HTTPSeeOther(back_to(form.get("back")))


async def import_file(request: web.Request) -> web.StreamResponse:
    """POST /ui/opt-outs/import: put every usable phone of a CSV or XLSX file on the list."""
    posted = await request.post()
    form = ImportForm.from_post(posted)
    upload = posted.get("file")
    data = upload.file.read() if isinstance(upload, web.FileField) else b""
    if not data:
        errors = {"file": "choose a CSV or XLSX file with a phone column"}
        return await _list_page(request, import_form=form, import_errors=errors, status=422)
    assert isinstance(upload, web.FileField)  # noqa: S101 - data came from it
    filename = (upload.filename or "the file")[:_MAX_FILENAME]
    context = context_of(request)
    try:
        report = await off_loop(
            import_opt_outs,
            context.opt_outs,
            data,
            form,
            filename=filename,
            default_region=context.settings.campaigns_default_region,
        )
    except ImportRefusedError as error:
        errors = {error.field: str(error)}
        if error.field != "file":
            errors["file"] = "choose the file again once the field below is fixed"
        return await _list_page(request, import_form=form, import_errors=errors, status=422)
    except ConcurrentUpdateError as error:
        errors = {"file": str(error)}
        return await _list_page(request, import_form=form, import_errors=errors, status=409)
    return await _list_page(request, import_form=form, report=report)


def _cell(column: str, text: str) -> str:
    # The note is free text: a spreadsheet must not run it as a formula.
    return "'" + text if column == "note" and text.startswith(FORMULA_STARTS) else text


async def export_csv(request: web.Request) -> web.StreamResponse:
    """GET /ui/opt-outs.csv: the list (as searched), oldest first, as the CLI's export writes it."""
    await _caught_up(request)
    query = request.query.get("q", "").strip()[:MAX_QUERY]
    entries = state_of(request).opt_outs.oldest_first(query)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for e in entries:
        cells = {"phone": e.phone, "source": e.source, "at": e.at.isoformat(), "note": e.note}
        writer.writerow([_cell(c, cells[c]) for c in EXPORT_COLUMNS])
    return web.Response(
        body=out.getvalue().encode(),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="opt-outs.csv"',
            **NO_STORE,
            **HEADERS,
        },
    )
