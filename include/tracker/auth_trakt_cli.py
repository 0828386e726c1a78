"""`tracker auth trakt`: authorise Tracker to read a Trakt history through the OAuth device flow.

Prints a code and a URL, polls Trakt until the code is approved, denied or expired, and stores the tokens in
`<state_dir>/tokens/trakt.json` (mode 0600). The client secret comes from TRAKT_CLIENT_SECRET or a hidden
prompt; it is never printed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

trakt_auth_app = typer.Typer(no_args_is_help=True, help="Authorise access to a source account.")
console = Console()


@trakt_auth_app.command("trakt")
def trakt(
    client_id: Annotated[str, typer.Option(envvar="TRAKT_CLIENT_ID", prompt=True,
                                           help="The Trakt app's client id.")],
    client_secret: Annotated[str, typer.Option(envvar="TRAKT_CLIENT_SECRET", prompt=True, hide_input=True,
                                               help="The Trakt app's client secret.")],
    base_url: Annotated[str, typer.Option(envvar="TRAKT_BASE_URL",
                                          help="Trakt API base URL (the demo server: DEMO_URL/trakt).")]
    = "https://api.trakt.tv",
    token_file: Annotated[Path | None, typer.Option(help="Where to store the tokens (default: "
                                                         "<state_dir>/tokens/trakt.json).")] = None,
) -> None:
    """Device-flow login to Trakt; stores the access and refresh token."""
    from tracker.http import HttpClient, SourceError
    from tracker.sources.trakt import device_flow
    from tracker.sources.trakt.tokens import TokenStore

    http = HttpClient(conn_id="trakt")
    try:
        code = device_flow.start(http, base_url, client_id)
        console.print(f"Open [bold]{code.verification_url}[/bold] and enter the code "
                      f"[bold cyan]{code.user_code}[/bold cyan] (valid {code.expires_in // 60} min).")
        with console.status("waiting for approval…"):
            token = device_flow.poll(http, base_url, client_id, client_secret, code, sleep=time.sleep)
    except SourceError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    path = TokenStore(token_file).save(token)
    expires = f", expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else ""
    console.print(f"Trakt token stored in {path}{expires}.")
