"""Roster and results uploads: upload, preview (nothing written), then apply or cancel."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import col, select
from starlette.background import BackgroundTask

from testrota.app import App
from testrota.audit import Actor
from testrota.auth.users import UserInfo
from testrota.db.engine import session_scope
from testrota.db.models import RosterImport, WebUpload
from testrota.errors import UserError
from testrota.jsonable import jsonable
from testrota.web import services, uploads
from testrota.web.deps import AppDep, HRUser, SessionDep, end_read, verify_csrf
from testrota.web.i18n import translator
from testrota.web.ids import as_id
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

KINDS = ("roster", "results")
ERRORS_SHOWN = 500


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise HTTPException(404)
    return kind


def _form_page(request: Request, session: Any, kind: str, *, error: str | None = None,
               status_code: int = 200) -> Response:
    recent: list[Any] = []
    done = None
    if kind == "roster":
        recent = list(session.exec(
            select(RosterImport).order_by(col(RosterImport.imported_at).desc()).limit(10)
        ))
        done_id = as_id(request.query_params.get("done"))
        if done_id is not None:
            done = session.get(RosterImport, done_id)
    return render(request, "upload.html", {
        "kind": kind, "error": error, "recent": recent, "done": done,
        "results_done": request.session.pop("results_done", None) if kind == "results" else None,
        "max_mb": request.app.state.testrota.policy.imports.max_file_mb,
    }, status_code=status_code)


@router.get("/upload/{kind}")
def upload_page(request: Request, session: SessionDep, user: HRUser, kind: str) -> Response:
    return _form_page(request, session, _kind(kind))


@router.post("/upload/{kind}")
async def upload(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: HRUser,
    kind: str,
    file: Annotated[UploadFile, File()],
    full: Annotated[str, Form()] = "",
    sheet: Annotated[str, Form()] = "",
) -> Response:
    _kind(kind)
    name = uploads.safe_file_name(file.filename)
    max_bytes = int(app.policy.imports.max_file_mb * 1_000_000)
    options = {"full": bool(full), "sheet": sheet.strip() or None}
    try:
        uploads.check_suffix(name)
        data = await uploads.read_limited(file, max_bytes)
        preview = await _run_in_thread(_preview, app, kind, name, data, options, user)
    except UserError as exc:
        return _form_page(request, session, kind, error=str(exc), status_code=400)
    with session_scope(app.engine) as tx:
        row = uploads.store(tx, kind=kind, file_name=name, data=data, options=options,
                            actor=user.name, now=app.now())
        row.preview = _jsonable(_bounded(preview))
        token = row.token
    return RedirectResponse(f"/upload/{kind}/{token}", 303)


async def _run_in_thread(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


def _preview(app: Any, kind: str, name: str, data: bytes, options: dict[str, Any],
             user: UserInfo) -> dict[str, Any]:
    with uploads.as_file(name, data) as path:
        if kind == "roster":
            return services.roster_preview(app, path, actor=user.name, full=options["full"],
                                           sheet=options["sheet"])
        return _import_results(app, path, user, dry_run=True, sheet=options["sheet"])


def _import_results(app: App, path: Path, user: UserInfo, *, dry_run: bool,
                    sheet: str | None, errors_report: Path | None = None) -> dict[str, Any]:
    """The results import as JSON (what the preview stores and shows)."""
    from testrota.actions.results import ImportResults, import_results

    summary = import_results(app, ImportResults(path, Actor.web(user.name), sheet=sheet or None,
                                                dry_run=dry_run, errors_report=errors_report))
    out: dict[str, Any] = jsonable(summary, app.tz)
    return out


def _bounded(summary: dict[str, Any]) -> dict[str, Any]:
    """What the preview page needs, capped: a 100,000-row file can have as many errors."""
    out = dict(summary)
    for key in ("errors", "unmatched"):
        items = out.get(key)
        if isinstance(items, list):
            out[f"{key}_total"] = len(items)
            out[key] = items[:ERRORS_SHOWN]
    return out


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    import json

    result: dict[str, Any] = json.loads(json.dumps(value, default=str, ensure_ascii=False))
    return result


def _get(session: Any, token: str, kind: str, user: UserInfo, *,
         with_data: bool = False) -> WebUpload:
    row = uploads.load(session, token, _kind(kind), user.name, user.role, with_data=with_data)
    end_read(session)
    if row is None:
        raise HTTPException(404, translator("en")("This upload is gone: upload the file again."))
    return row


@router.get("/upload/{kind}/{token}")
def preview_page(request: Request, session: SessionDep, user: HRUser, kind: str,
                 token: str) -> Response:
    row = _get(session, token, kind, user)
    return render(request, f"preview_{kind}.html", {"kind": kind, "upload": row,
                                                     "s": row.preview})


@router.get("/upload/{kind}/{token}/errors.xlsx")
def error_report(app: AppDep, session: SessionDep, user: HRUser, kind: str,
                 token: str) -> Response:
    row = _get(session, token, kind, user, with_data=True)
    out_dir = Path(tempfile.mkdtemp(prefix="testrota-report-"))
    target = out_dir / "errors.xlsx"
    with uploads.as_file(row.file_name, row.data) as path:
        if kind == "roster":
            services.import_roster(app, path, actor=user.name, dry_run=True,
                                   full=bool(row.options.get("full")), force=True,
                                   sheet=row.options.get("sheet"), errors_report=target)
        else:
            # The CLI's --errors report: each row marked in the sheet's own columns.
            _import_results(app, path, user, dry_run=True, sheet=row.options.get("sheet"),
                            errors_report=target)
    if not target.exists():
        services.write_plain_error_report(row.preview.get("errors", []), target)
    stem = Path(row.file_name).stem
    return FileResponse(
        target,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"{stem}-errors.xlsx",
        background=BackgroundTask(_remove_dir, out_dir),
    )


def _remove_dir(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


@router.post("/upload/{kind}/{token}/apply")
def apply(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: HRUser,
    kind: str,
    token: str,
    force: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request_language(request))
    row = _get(session, token, kind, user, with_data=True)
    try:
        with uploads.as_file(row.file_name, row.data) as path:
            if kind == "roster":
                summary = services.import_roster(
                    app, path, actor=user.name, dry_run=False,
                    full=bool(row.options.get("full")), force=bool(force),
                    sheet=row.options.get("sheet"),
                )
            else:
                summary = _import_results(app, path, user, dry_run=False,
                                          sheet=row.options.get("sheet"))
    except UserError as exc:
        return render(request, f"preview_{kind}.html",
                      {"kind": kind, "upload": row, "s": row.preview, "error": str(exc)},
                      status_code=400)
    with session_scope(app.engine) as tx:
        uploads.discard(tx, token)
    if kind == "roster":
        flash(request, _("Roster applied: {added} added, {updated} updated, {deactivated} deactivated.",  # noqa: E501
                         added=summary.get("added", 0),
                         updated=summary.get("updated", 0),
                         deactivated=summary.get("deactivated", 0)))
        if summary.get("released"):
            flash(request, _("{n} coming appointments released.", n=summary["released"]))
        return RedirectResponse(f"/upload/roster?done={summary.get('import_id', '')}", 303)
    request.session["results_done"] = {
        k: summary.get(k) for k in ("rows", "recorded", "unchanged")
    } | {"unmatched": len(summary.get("unmatched", []))}
    flash(request, _("Results applied: {recorded} recorded, {unchanged} unchanged.",
                     recorded=summary.get("recorded", 0), unchanged=summary.get("unchanged", 0)))
    return RedirectResponse("/upload/results", 303)


@router.post("/upload/{kind}/{token}/cancel")
def cancel(request: Request, app: AppDep, session: SessionDep, user: HRUser, kind: str,
           token: str) -> Response:
    _ = translator(request_language(request))
    row = _get(session, token, kind, user)
    with session_scope(app.engine) as tx:
        uploads.discard(tx, token)
        from testrota.auth.users import audit

        audit(tx, actor=user.name, action=f"{kind}.upload_cancel", entity="upload",
              entity_id=row.sha256[:16], now=app.now(), details={"file": row.file_name})
    flash(request, _("Cancelled: nothing was written."), "warn")
    return RedirectResponse(f"/upload/{kind}", 303)
