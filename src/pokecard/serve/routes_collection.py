"""The collection: list with totals, edit (versioned), delete and undo, export and import."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from pokecard.collection.formats import FORMATS, export_csv, import_csv
from pokecard.serve.routes_scan import svc

router = APIRouter()


@router.get("/collection")
def collection(request: Request) -> dict[str, Any]:
    db = svc(request).db
    return {"items": [i.as_dict() for i in db.items()], "totals": db.totals()}


class Edit(BaseModel):
    version: int
    quantity: int | None = None
    finish: str | None = None
    condition: str | None = None
    language: str | None = None


@router.patch("/items/{item_id}")
async def edit(request: Request, item_id: int, body: Edit) -> dict[str, Any]:
    """Change a line read at ``version``; 409 if someone changed it since (reload and retry)."""
    fields = {k: v for k, v in body.model_dump().items() if k != "version" and v is not None}
    db = svc(request).db
    return (await to_thread.run_sync(lambda: db.update_item(item_id, body.version, **fields))).as_dict()


class Adjust(BaseModel):
    delta: int


@router.post("/items/{item_id}/adjust")
async def adjust(request: Request, item_id: int, body: Adjust) -> dict[str, Any]:
    db = svc(request).db
    return (await to_thread.run_sync(db.adjust, item_id, body.delta)).as_dict()


@router.delete("/items/{item_id}")
async def delete(request: Request, item_id: int) -> dict[str, Any]:
    db = svc(request).db
    return (await to_thread.run_sync(db.delete_item, item_id)).as_dict()


@router.post("/items/{item_id}/undo")
async def undo(request: Request, item_id: int) -> dict[str, Any]:
    db = svc(request).db
    return (await to_thread.run_sync(db.undelete, item_id)).as_dict()


@router.get("/export")
def export(request: Request, format: str = "generic") -> Response:
    if format not in FORMATS:
        raise HTTPException(400, f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
    text = export_csv(svc(request).db.items(), format)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="pokecard-{format}.csv"'},
    )


@router.post("/import")
async def import_(request: Request) -> dict[str, Any]:
    """Our own (generic) CSV as multipart field ``file``; importing it twice changes nothing."""
    form = await request.form(max_files=1)
    f = form.get("file")
    if not isinstance(f, UploadFile) and not hasattr(f, "read"):
        raise HTTPException(400, "send the CSV as multipart field 'file'")
    raw = await f.read()  # type: ignore[union-attr]
    name = (getattr(f, "filename", None) or "upload.csv").rsplit("/", 1)[-1]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, f"{name}: not UTF-8 text") from None
    db = svc(request).db
    return (await to_thread.run_sync(import_csv, db, text, name)).as_dict()
