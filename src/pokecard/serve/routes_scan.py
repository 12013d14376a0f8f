"""Scan, live mode, fix and the catalogue (search, card images)."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from pokecard.serve.service import Service

router = APIRouter()


def svc(request: Request) -> Service:
    return request.app.state.service


async def _read(f: UploadFile, limit: int) -> bytes:
    """At most limit + 1 bytes: enough to know a file is over the limit without holding it."""
    return await f.read(limit + 1)


@router.post("/scan")
async def scan(request: Request) -> dict[str, Any]:
    """One or more photos (multipart field ``files``): one result each, in order; a bad file is
    an error result and the others go on."""
    s = svc(request)
    form = await request.form(max_files=s.limits.max_files)
    files = [f for f in form.getlist("files") if hasattr(f, "read")]
    if not files:
        raise HTTPException(400, "no photos: send them as multipart field 'files'")
    results = []
    for f in files:
        data = await _read(f, s.limits.max_file_bytes)  # type: ignore[arg-type]
        results.append(await to_thread.run_sync(s.scan, data, f.filename or "upload"))  # type: ignore[union-attr]
    return {"results": results}


@router.post("/live")
async def live(request: Request, session: str) -> dict[str, Any]:
    """One camera frame (the raw JPEG as the body) of live session ``session``."""
    s = svc(request)
    data = await request.body()
    try:
        return await to_thread.run_sync(s.live_frame, session, data)
    except ValueError as e:
        raise HTTPException(400, str(e)) from e


class Fix(BaseModel):
    card_id: str


@router.post("/scans/{scan_id}/fix")
async def fix(request: Request, scan_id: int, body: Fix) -> dict[str, Any]:
    try:
        return await to_thread.run_sync(svc(request).fix, scan_id, body.card_id)
    except KeyError:
        raise HTTPException(404, f"card {body.card_id!r} is not in the catalogue") from None


@router.get("/cards")
def cards(request: Request, q: str = "", limit: int = 24) -> dict[str, Any]:
    return {"cards": svc(request).search(q, max(1, min(limit, 100)))}


@router.get("/card-image")
def card_image(request: Request, id: str) -> FileResponse:
    path = svc(request).card_image(id)
    if path is None or not path.is_file():
        raise HTTPException(404, f"card {id!r} is not in the catalogue")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})


@router.get("/info")
def info(request: Request) -> dict[str, Any]:
    s = svc(request)
    return {
        "cards": len(s.cards),
        "mode": s.recognizer.mode,
        "max_file_bytes": s.limits.max_file_bytes,
        "max_frame_bytes": s.limits.max_frame_bytes,
    }
