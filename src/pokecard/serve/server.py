"""Run the app with uvicorn: loopback by default; beyond loopback a random token is required
and printed as a URL (and a terminal QR code when segno is installed)."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import Any

from pokecard.errors import MissingDependency
from pokecard.serve.security import new_token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _lan_address() -> str:
    """This machine's address on the LAN (what a phone opens); no packet is sent."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: connect() on UDP only picks the route
        return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        s.close()


def access_url(host: str, port: int, token: str | None, https: bool = False) -> str:
    shown = _lan_address() if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"{'https' if https else 'http'}://{shown}:{port}/"
    return f"{url}?token={token}" if token else url


def qr_text(url: str) -> str | None:
    """The URL as a terminal QR code, or None when segno (pure Python, extra 'serve') is absent."""
    try:
        import segno
    except ImportError:
        return None
    import io

    buf = io.StringIO()
    segno.make(url, error="m").terminal(out=buf, compact=True)
    return buf.getvalue()


def serve(
    root: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    token: str | None = None,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    log_level: str = "warning",
) -> None:
    try:
        import uvicorn

        from pokecard.serve.app import create_app
    except ImportError as e:
        raise MissingDependency(
            f"pokecard serve needs the web app's packages ({e.name} is missing): pip install 'pokecard[serve]'"
        ) from e

    if token is None and not is_loopback(host):
        token = new_token()
    app = create_app(root, token=token)
    url = access_url(host, port, token, https=bool(ssl_certfile))
    print(f"pokecard: serving {Path(str(root))} on {url}", file=sys.stderr, flush=True)
    if token:
        qr = qr_text(url)
        if qr:
            print(qr, file=sys.stderr, flush=True)
        else:
            print("(pip install segno for a QR code of this URL)", file=sys.stderr, flush=True)
    kw: dict[str, Any] = {}
    if ssl_certfile:
        kw.update(ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1, **kw)
