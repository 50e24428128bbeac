"""Campaigns over HTTP: start one from its spec (JSON or TOML) and a leads CSV, uploaded as
multipart and streamed to disk; list them; read the `campaign status --json` report; pause,
resume or cancel."""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import tempfile
from pathlib import Path, PurePath
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from scheduler.api.auth import Reader, Writer
from scheduler.api.problems import ProblemError
from scheduler.campaigns import plan_view, start_campaign
from scheduler.steering import (
    campaign_lines,
    campaign_report_json,
    cancel_campaign,
    pause_campaign,
    resume_campaign,
)
from worker.errors import CampaignInputError
from worker.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["campaigns"])

REJECTS_SHOWN = 1000  # refused rows listed in the answer; all of them are counted
CHUNK = 1 << 20
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}

START_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["spec", "leads"],
                    "properties": {
                        "spec": {
                            "type": "string",
                            "format": "binary",
                            "description": "The campaign file: TOML, or JSON (a .json name or"
                            " an application/json part).",
                        },
                        "leads": {"type": "string", "format": "binary", "description": "CSV"},
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "Files the spec's `media_file` names.",
                        },
                        "dry_run": {"type": "boolean", "default": False},
                        "skip_invalid": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}


class _Form:
    """The upload's parts, read with every problem noted, then refused once with all of
    them."""

    def __init__(self, form: Any):
        self.form = form
        self.errors: list[dict[str, str]] = []

    def flag(self, name: str) -> bool:
        value = self.form.get(name)
        text = "" if value is None else str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            self.errors.append({"field": name, "message": "must be true or false"})
        return text in _TRUE

    def part(self, name: str) -> UploadFile | None:
        part = self.form.get(name)
        if isinstance(part, UploadFile):
            return part
        self.errors.append({"field": name, "message": "required: a file part"})
        return None

    def files(self, taken: set[str]) -> list[tuple[str, UploadFile]]:
        named = []
        for extra in self.form.getlist("files"):
            if not isinstance(extra, UploadFile):
                self.errors.append({"field": "files", "message": "each must be a file part"})
                continue
            name = _safe_name(extra, "file")
            if name in taken:
                message = f"{name!r} is the name of another part (spec, leads or files)"
                self.errors.append({"field": "files", "message": message})
            taken.add(name)
            named.append((name, extra))
        return named

    def check(self) -> None:
        if self.errors:
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in self.errors)
            raise ProblemError(
                422, "invalid-request", "Invalid request", detail, errors=self.errors
            )


def _safe_name(upload: UploadFile, default: str) -> str:
    name = PurePath(upload.filename or default).name
    return name if name and not name.startswith(".") else default


async def _save(upload: UploadFile, folder: Path, name: str) -> Path:
    path = folder / name
    with path.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            out.write(chunk)
    return path


def _spec_name(spec: UploadFile) -> str:
    name = _safe_name(spec, "campaign.toml")
    is_json = name.endswith(".json") or (spec.content_type or "").endswith("json")
    stem = PurePath(name).stem or "campaign"
    return f"{stem}.json" if is_json else f"{stem}.toml"


def _refused_rows(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        next(reader, None)
        return [
            {"line": int(row[0]), "reason": row[1]}
            for row, _ in zip(reader, range(REJECTS_SHOWN), strict=False)
        ]


@router.post("/campaigns", status_code=201, openapi_extra=START_FORM)
async def start(request: Request, caller: Writer) -> dict[str, Any]:
    """Check the spec and every lead, then record and queue the campaign (or, with
    `dry_run=true`, only show the plan). With `skip_invalid=true` the valid rows are imported
    and each refused row is listed with its line and reason."""
    runtime: Runtime = request.app.state.runtime
    async with request.form(max_files=100, max_fields=20) as form:
        parts = _Form(form)
        dry_run, skip_invalid = parts.flag("dry_run"), parts.flag("skip_invalid")
        spec, leads = parts.part("spec"), parts.part("leads")
        names = {
            _spec_name(spec) if spec else "", _safe_name(leads, "leads.csv") if leads else "",
        }  # fmt: skip
        files = parts.files(set(names))
        parts.check()
        assert spec is not None and leads is not None
        folder = Path(tempfile.mkdtemp(prefix="outreach-api-"))
        try:
            spec_path = await _save(spec, folder, _spec_name(spec))
            leads_path = await _save(leads, folder, _safe_name(leads, "leads.csv"))
            for name, extra in files:
                await _save(extra, folder, name)
            rejects = folder / "rejects.csv"
            try:
                plan = await asyncio.to_thread(
                    start_campaign, runtime, spec_path, leads_path, dry_run=dry_run,
                    skip_invalid=skip_invalid, rejects=rejects,
                )  # fmt: skip
            except CampaignInputError as exc:
                # Lines name the uploaded file as the caller called it, not the server's copy.
                lines = [line.replace(f"{folder}{os.sep}", "") for line in exc.lines]
                raise CampaignInputError(lines, exc.line_numbers) from None
            view = plan_view(plan, dry_run=dry_run)
            view["rejects_file"] = None  # a temporary file of the server's: listed instead
            view["rejects"] = _refused_rows(plan.rejects_file)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return view


@router.get("/campaigns")
async def list_campaigns(request: Request, caller: Reader) -> list[dict[str, Any]]:
    """Every campaign with its progress (as `outreach campaigns --json`)."""
    runtime: Runtime = request.app.state.runtime
    return await asyncio.to_thread(campaign_lines, runtime)


@router.get("/campaigns/{name}")
async def get_campaign(name: str, request: Request, caller: Reader) -> dict[str, Any]:
    """Counts per step and status, replies, accounts and the expected finish (the report of
    `outreach campaign status --json`)."""
    return await asyncio.to_thread(campaign_report_json, request.app.state.runtime, name)


@router.post("/campaigns/{name}/pause")
async def pause(name: str, request: Request, caller: Writer) -> dict[str, Any]:
    """Hold every send of the campaign until it is resumed."""
    await asyncio.to_thread(pause_campaign, request.app.state.runtime, name)
    return {"campaign": name, "status": "paused"}


@router.post("/campaigns/{name}/resume")
async def resume(name: str, request: Request, caller: Writer) -> dict[str, Any]:
    """Let a paused campaign send again."""
    queued = await asyncio.to_thread(resume_campaign, request.app.state.runtime, name)
    return {"campaign": name, "status": "running", "queued": queued}


@router.post("/campaigns/{name}/cancel")
async def cancel(name: str, request: Request, caller: Writer) -> dict[str, Any]:
    """Stop the campaign for good: what is not sent yet is cancelled."""
    cancelled = await asyncio.to_thread(cancel_campaign, request.app.state.runtime, name)
    return {"campaign": name, "status": "cancelled", "cancelled": cancelled}
