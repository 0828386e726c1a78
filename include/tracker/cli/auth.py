"""`tracker auth google-health`: sign in to the Google Health API once; tokens go to the warehouse."""

from __future__ import annotations

import sys
import webbrowser
from pathlib import Path
from typing import Annotated, TextIO

import typer

from tracker.cli.common import console, fail
from tracker.http import SourceError

auth_app = typer.Typer(no_args_is_help=True,
                       help="Sign in to source APIs (OAuth); tokens go to the warehouse (auth.oauth_tokens).")
SCOPE_HELP = "Scope URL (repeatable); default: activity_and_fitness, health_metrics_and_measurements, sleep."


@auth_app.callback()
def _group() -> None:
    """Sign in to source APIs (OAuth); tokens go to the warehouse (auth.oauth_tokens)."""


@auth_app.command("google-health")
def google_health(
    client_id: Annotated[str, typer.Option(envvar="GOOGLE_HEALTH_CLIENT_ID", prompt=True,
                                           help="OAuth client id (Desktop app) from Google Cloud Console.")],
    client_secret: Annotated[str, typer.Option(envvar="GOOGLE_HEALTH_CLIENT_SECRET", prompt=True,
                                               hide_input=True, help="Its client secret.")],
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the consent URL.")] = False,
    port: Annotated[int, typer.Option(help="Loopback port for the redirect (0: any free port).")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the sign-in.")] = 300.0,
    scope: Annotated[list[str] | None, typer.Option(help=SCOPE_HELP)] = None,
    account: Annotated[str, typer.Option(help="Token row name: the person's accounts.google_health.")] =
    "google_health",
    token_file: Annotated[Path | None, typer.Option(
        help="Write a 0600 JSON file instead of the warehouse table (for scripts; the DAG reads the table).")] = None,
    auth_url: Annotated[str | None, typer.Option(envvar="GOOGLE_HEALTH_AUTH_URL", hidden=True)] = None,
    token_url: Annotated[str | None, typer.Option(envvar="GOOGLE_HEALTH_TOKEN_URL", hidden=True)] = None,
) -> None:
    """Sign in: consent page → redirect caught on 127.0.0.1 (or paste the redirected URL) → tokens stored.

    OAuth apps in "Testing" status get refresh tokens that expire after 7 days: run it again then.
    """
    from tracker.sources.google_health import oauth

    client = oauth.OAuthClient(client_id=client_id, client_secret=client_secret or None,
                               token_url=token_url or oauth.TOKEN_URL, auth_url=auth_url or oauth.AUTH_URL,
                               scopes=tuple(scope) if scope else oauth.DEFAULT_SCOPES)
    if token_file is not None:
        store = oauth.TokenStore(token_file)
        where = f"{store.path} (mode 0600)"
    else:
        import psycopg

        from tracker import settings
        from tracker.sources.google_health.token_table import WarehouseTokenStore

        store = WarehouseTokenStore(lambda: psycopg.connect(settings.loader_dsn()), account)
        where = f"the warehouse table {store.path} (run `tracker up` first; only the loader role can read it)"

    def show(url: str) -> None:
        console.print("Open this URL, sign in and allow access:\n")
        console.print(url, soft_wrap=True, highlight=False)
        console.print("\nWaiting for the redirect to 127.0.0.1 … or paste the redirected URL (or the code) here:")

    paste = _stdin()
    try:
        tokens = oauth.authorize(client, store, port=port, timeout=timeout, show=show, paste=paste,
                                 open_browser=None if no_browser else webbrowser.open)
    except SourceError as exc:
        fail(str(exc))
    console.print(f"[green]signed in[/green]; tokens stored in {where}")
    console.print(f"  access token valid until {tokens.expires_at:%Y-%m-%d %H:%M} UTC (refreshed automatically)")
    if tokens.refresh_token_expires_at:
        console.print(f"  refresh token expires {tokens.refresh_token_expires_at:%Y-%m-%d %H:%M} UTC "
                      "(app in 'Testing' status): run this command again before then")
    console.print("  the Airflow connection 'google_health' needs the same client id (login) and secret (password)")


def _stdin() -> TextIO | None:
    """stdin when it is a real file descriptor (select() needs one), else None: then only the loopback."""
    try:
        sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    return sys.stdin


def register(app: typer.Typer) -> None:
    from tracker.cli.auth_trakt import trakt_auth_app

    auth_app.add_typer(trakt_auth_app)  # `tracker auth trakt`
    app.add_typer(auth_app, name="auth")
