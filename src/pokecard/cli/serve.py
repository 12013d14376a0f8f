"""`pokecard serve`: the collector's web app on this machine."""

from __future__ import annotations

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, emit_json, group, json_mode


def register(app: typer.Typer) -> None:
    bench_app = group(app, "bench", "Benchmarks: reports/*.json and the tables in docs/benchmarks.md.")

    @bench_app.command("serve")
    def bench_serve(
        quick: bool = typer.Option(False, "--quick", help="30 photos, one pass under load."),
        as_json: bool = JSON_OPT,
    ) -> None:
        """HTTP API vs the recognizer in process (overhead ratio), p50/p95 with 8 clients."""
        from pokecard.bench import serve as bench

        json_mode(as_json)
        res = bench.main(quick=quick)
        if as_json:
            emit_json(res)

    @app.command("serve")
    def serve_cmd(
        root: str = ROOT_OPT,
        host: str = typer.Option(
            "127.0.0.1",
            "--host",
            help="Address to listen on; anything but loopback requires a printed token.",
        ),
        port: int = typer.Option(8000, "--port", min=1, max=65535),
        ssl_certfile: str = typer.Option(
            None, "--ssl-certfile", help="HTTPS certificate (phones need https for the camera)."
        ),
        ssl_keyfile: str = typer.Option(None, "--ssl-keyfile", help="HTTPS private key."),
        require_token: bool = typer.Option(
            False, "--require-token", help="Require the printed token on loopback too (shared machines)."
        ),
    ) -> None:
        """Scan photos or a live camera in the browser, fix matches, keep and export the collection."""
        from pokecard.config import load_settings
        from pokecard.serve.security import new_token
        from pokecard.serve.server import serve

        serve(
            root or load_settings().root,
            host,
            port,
            token=new_token() if require_token else None,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
