"""The collector's web app: ``create_app(root)`` gives an ASGI app (FastAPI) that loads the
reference DB once and serves the page (package data, no build step) and its JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from pokecard.collection.db import MissingRow
from pokecard.errors import ConflictError, PokecardError
from pokecard.serve import routes_collection, routes_scan
from pokecard.serve.security import BodyLimit, TokenGuard
from pokecard.serve.service import Limits, Service

STATIC = Path(__file__).with_name("static")


def create_app(
    root: str | Path | None = None,
    *,
    token: str | None = None,
    limits: Limits | None = None,
    service: Service | None = None,
) -> Any:
    """The app for ``root`` (or an already built ``service``). ``token``: required on every
    request when set (the server sets one whenever it listens beyond loopback)."""
    svc = service or Service(root, limits=limits)  # type: ignore[arg-type]
    app = FastAPI(title="pokecard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = svc

    @app.exception_handler(PokecardError)
    async def _pokecard_error(request: Request, e: PokecardError) -> JSONResponse:
        status = 409 if isinstance(e, ConflictError) else 404 if isinstance(e, MissingRow) else 400
        return JSONResponse({"detail": str(e)}, status_code=status)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    app.include_router(routes_scan.router, prefix="/api")
    app.include_router(routes_collection.router, prefix="/api")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    lim = svc.limits
    # the multipart body may hold max_files photos; one over its own limit is refused per file
    asgi: Any = BodyLimit(app, max(lim.max_file_bytes * 4, lim.max_frame_bytes) + 1_000_000)
    asgi = TokenGuard(asgi, token)
    asgi.service = svc  # type: ignore[attr-defined]
    asgi.fastapi = app  # type: ignore[attr-defined]
    return asgi
