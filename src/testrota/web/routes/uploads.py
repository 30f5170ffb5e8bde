"""Roster and results uploads: upload, preview (nothing written), then apply or cancel."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from testrota.actions.roster import (
    ApplyRosterUpload,
    RecentImports,
    RosterUploadErrors,
    ShowRosterUpload,
    UploadRoster,
    apply_roster_upload,
    recent_imports,
    show_roster_upload,
    upload_roster,
    write_upload_errors,
)
from testrota.actions.stale_scopes import FindStaleScopes, find_stale_scopes
from testrota.actions.uploads import (
    CancelUpload,
    FindUpload,
    StageUpload,
    StoredUpload,
    UploadGone,
    as_file,
    cancel_upload,
    discard_upload,
    find_upload,
    stage_upload,
)
from testrota.app import App
from testrota.audit import Actor
from testrota.auth.stale import StaleScope
from testrota.auth.users import UserInfo
from testrota.errors import UserError
from testrota.jsonable import jsonable
from testrota.roster.errors_xlsx import write_error_report
from testrota.roster.validate import RowError
from testrota.web import uploads
from testrota.web.deps import AppDep, HRUser, verify_csrf
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


def _actor(user: UserInfo) -> Actor:
    return Actor.web(user.name)


def _sees_all(user: UserInfo) -> bool:
    return user.role == "admin"  # an upload is its uploader's; admins see them all


def _gone() -> HTTPException:
    return HTTPException(404, translator("en")("This upload is gone: upload the file again."))


def _form_page(
    request: Request,
    app: App,
    kind: str,
    user: UserInfo,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    recent: list[Any] = []
    done = None
    stale: list[StaleScope] = []
    if kind == "roster":
        imports = recent_imports(
            app, RecentImports(including=as_id(request.query_params.get("done")))
        )
        recent, done = imports.recent, imports.including
        if done is not None:
            # As things stand now, not as the import left them: a supervisor HR has changed
            # since is not listed again when the page is reloaded.
            stale = find_stale_scopes(app, FindStaleScopes(_actor(user), viewer_role=user.role))
    return render(
        request,
        "upload.html",
        {
            "kind": kind,
            "error": error,
            "recent": recent,
            "done": done,
            "stale": stale,
            "results_done": request.session.pop("results_done", None)
            if kind == "results"
            else None,
            "max_mb": app.policy.imports.max_file_mb,
        },
        status_code=status_code,
    )


@router.get("/upload/{kind}")
def upload_page(request: Request, app: AppDep, user: HRUser, kind: str) -> Response:
    return _form_page(request, app, _kind(kind), user)


@router.post("/upload/{kind}")
async def upload(
    request: Request,
    app: AppDep,
    user: HRUser,
    kind: str,
    file: Annotated[UploadFile, File()],
    full: Annotated[str, Form()] = "",
    sheet: Annotated[str, Form()] = "",
) -> Response:
    from starlette.concurrency import run_in_threadpool

    _kind(kind)
    _ = translator(request_language(request))
    name = uploads.safe_file_name(file.filename)
    max_bytes = int(app.policy.imports.max_file_mb * 1_000_000)
    try:
        uploads.check_suffix(name)
        data = await uploads.read_limited(file, max_bytes)
        if kind == "roster":
            staged = await run_in_threadpool(
                upload_roster,
                app,
                UploadRoster(
                    name, data, _actor(user), full=bool(full), sheet=sheet.strip() or None
                ),
            )
            token = staged.token
        else:
            token = await run_in_threadpool(
                _stage_results, app, name, data, sheet.strip() or None, user
            )
    except UserError as exc:
        return _form_page(request, app, kind, user, error=exc.render(_), status_code=400)
    return RedirectResponse(f"/upload/{kind}/{token}", 303)


def _stage_results(app: App, name: str, data: bytes, sheet: str | None, user: UserInfo) -> str:
    with as_file(name, data) as path:
        preview = _import_results(app, path, user, dry_run=True, sheet=sheet)
    return stage_upload(
        app,
        StageUpload(
            "results",
            name,
            data,
            _actor(user),
            options={"full": False, "sheet": sheet},
            preview=_jsonable(_bounded(preview)),
        ),
    )


def _import_results(
    app: App,
    path: Path,
    user: UserInfo,
    *,
    dry_run: bool,
    sheet: str | None,
    errors_report: Path | None = None,
    lang: str = "en",
) -> dict[str, Any]:
    """The results import as JSON (what the preview stores and shows)."""
    from testrota.actions.results import ImportResults, import_results

    summary = import_results(
        app,
        ImportResults(
            path,
            _actor(user),
            sheet=sheet or None,
            dry_run=dry_run,
            errors_report=errors_report,
            lang=lang,
        ),
    )
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


def _results_upload(
    app: App, token: str, user: UserInfo, *, with_data: bool = False
) -> StoredUpload:
    try:
        return find_upload(
            app, FindUpload(token, "results", _actor(user), _sees_all(user), with_data=with_data)
        )
    except UploadGone:
        raise _gone() from None


def _roster_preview(
    request: Request,
    app: App,
    token: str,
    user: UserInfo,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        shown = show_roster_upload(app, ShowRosterUpload(token, _actor(user), _sees_all(user)))
    except UploadGone:
        raise _gone() from None
    return render(
        request,
        "preview_roster.html",
        {
            "kind": "roster",
            "upload": shown,
            "p": shown.preview,
            "s": shown.preview.report,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/upload/{kind}/{token}")
def preview_page(request: Request, app: AppDep, user: HRUser, kind: str, token: str) -> Response:
    if _kind(kind) == "roster":
        return _roster_preview(request, app, token, user)
    row = _results_upload(app, token, user)
    return render(request, "preview_results.html", {"kind": kind, "upload": row, "s": row.preview})


@router.get("/upload/{kind}/{token}/errors.xlsx")
def error_report(request: Request, app: AppDep, user: HRUser, kind: str, token: str) -> Response:
    _kind(kind)
    lang = request_language(request)  # the report reads in the uploader's language
    out_dir = Path(tempfile.mkdtemp(prefix="testrota-report-"))
    target = out_dir / "errors.xlsx"
    try:
        if kind == "roster":
            written = write_upload_errors(
                app, RosterUploadErrors(token, _actor(user), target, _sees_all(user), lang=lang)
            )
            file_name = written.file_name
        else:
            row = _results_upload(app, token, user, with_data=True)
            assert row.data is not None
            file_name = row.file_name
            # The CLI's --errors report: each row marked in the sheet's own columns.
            with as_file(row.file_name, row.data) as path:
                _import_results(
                    app,
                    path,
                    user,
                    dry_run=True,
                    sheet=row.options.get("sheet"),
                    errors_report=target,
                    lang=lang,
                )
            if not target.exists():
                # Nothing to mark in the sheet: the preview's errors (if any) as a plain list.
                write_error_report(target, _stored_errors(row.preview), lang=lang)
    except UploadGone:
        _remove_dir(out_dir)
        raise _gone() from None
    except BaseException:
        _remove_dir(out_dir)
        raise
    return FileResponse(
        target,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"{Path(file_name).stem}-errors.xlsx",
        background=BackgroundTask(_remove_dir, out_dir),
    )


def _stored_errors(preview: dict[str, Any]) -> list[RowError]:
    return [
        RowError(
            str(e.get("sheet", "")),
            int(e.get("row", 0)),
            str(e.get("header") or e.get("column") or ""),
            str(e.get("value", "")),
            str(e.get("message", "")),
            str(e.get("template", "")),
            dict(e.get("params") or {}),
            parts=list(e.get("parts") or []),
        )
        for e in (*preview.get("errors", []), *preview.get("unmatched", []))
        if isinstance(e, dict)
    ]


def _remove_dir(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


@router.post("/upload/{kind}/{token}/apply")
def apply(
    request: Request,
    app: AppDep,
    user: HRUser,
    kind: str,
    token: str,
    force: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request_language(request))
    if _kind(kind) == "roster":
        try:
            report = apply_roster_upload(
                app,
                ApplyRosterUpload(token, _actor(user), force=bool(force), sees_all=_sees_all(user)),
            )
        except UploadGone:
            raise _gone() from None
        except UserError as exc:
            return _roster_preview(request, app, token, user, error=exc.render(_), status_code=400)
        flash(
            request,
            _(
                "Roster applied: {added} added, {updated} updated, {deactivated} deactivated.",
                added=report.added,
                updated=report.updated,
                deactivated=report.deactivated,
            ),
        )
        if report.released:
            flash(request, _("{n} coming appointments released.", n=report.released))
        return RedirectResponse(f"/upload/roster?done={report.import_id or ''}", 303)
    row = _results_upload(app, token, user, with_data=True)
    assert row.data is not None
    try:
        with as_file(row.file_name, row.data) as path:
            summary = _import_results(
                app, path, user, dry_run=False, sheet=row.options.get("sheet")
            )
    except UserError as exc:
        return render(
            request,
            "preview_results.html",
            {"kind": kind, "upload": row, "s": row.preview, "error": exc.render(_)},
            status_code=400,
        )
    discard_upload(app, token)
    request.session["results_done"] = {
        k: summary.get(k) for k in ("rows", "recorded", "unchanged")
    } | {"unmatched": len(summary.get("unmatched", []))}
    flash(
        request,
        _(
            "Results applied: {recorded} recorded, {unchanged} unchanged.",
            recorded=summary.get("recorded", 0),
            unchanged=summary.get("unchanged", 0),
        ),
    )
    return RedirectResponse("/upload/results", 303)


@router.post("/upload/{kind}/{token}/cancel")
def cancel(request: Request, app: AppDep, user: HRUser, kind: str, token: str) -> Response:
    _ = translator(request_language(request))
    try:
        cancel_upload(app, CancelUpload(token, _kind(kind), _actor(user), _sees_all(user)))
    except UploadGone:
        raise _gone() from None
    flash(request, _("Cancelled: nothing was written."), "warn")
    return RedirectResponse(f"/upload/{kind}", 303)
