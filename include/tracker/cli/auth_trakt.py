"""`tracker auth trakt`: authorise Tracker to read a Trakt history through the OAuth device flow.

Prints a code and a URL, polls Trakt until the code is approved, denied or expired, and stores the tokens in
the warehouse table `auth.oauth_tokens` (row `trakt/<account>`, where the Trakt DAG and `tracker extract
trakt` read and refresh them before they expire), or with `--token-file` in a 0600 JSON file. The client
secret comes from TRAKT_CLIENT_SECRET or a hidden prompt; it is never printed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import console, fail

trakt_auth_app = typer.Typer(no_args_is_help=True, help="Authorise access to a source account.")


@trakt_auth_app.command("trakt")
def trakt(
    client_id: Annotated[str, typer.Option(envvar="TRAKT_CLIENT_ID", prompt=True,
                                           help="The Trakt app's client id.")],
    client_secret: Annotated[str, typer.Option(envvar="TRAKT_CLIENT_SECRET", prompt=True, hide_input=True,
                                               help="The Trakt app's client secret.")],
    base_url: Annotated[str, typer.Option(envvar="TRAKT_BASE_URL",
                                          help="Trakt API base URL (the demo server: DEMO_URL/trakt).")]
    = "https://api.trakt.tv",
    account: Annotated[str | None, typer.Option(help="The token row's account: the person's `accounts.trakt` "
                                                     "(default: the one configured)")] = None,
    token_file: Annotated[Path | None, typer.Option(help="Write the tokens to this 0600 JSON file instead of "
                                                         "the warehouse.")] = None,
) -> None:
    """Device-flow login to Trakt; stores the access and refresh token."""
    from tracker.http import HttpClient, SourceError
    from tracker.sources.trakt import device_flow
    from tracker.sources.trakt.tokens import TokenStore

    http = HttpClient(credential="trakt")
    try:
        code = device_flow.start(http, base_url, client_id)
        console.print(f"Open [bold]{code.verification_url}[/bold] and enter the code "
                      f"[bold cyan]{code.user_code}[/bold cyan] (valid {code.expires_in // 60} min).")
        with console.status("waiting for approval…"):
            token = device_flow.poll(http, base_url, client_id, client_secret, code, sleep=time.sleep)
    except SourceError as exc:
        fail(str(exc))
    expires = f", expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else ""
    if token_file is not None:
        console.print(f"Trakt token stored in {TokenStore(token_file).save(token)}{expires}.")
        return
    account = account or _configured_account()
    import psycopg

    from tracker import settings
    from tracker.sources.trakt.tokens import warehouse_store

    try:
        warehouse_store(lambda: psycopg.connect(settings.loader_dsn()), account).save(token)
    except psycopg.OperationalError as exc:
        fail(f"cannot reach the warehouse ({str(exc).splitlines()[0]}): run `tracker up`, or pass --token-file")
    console.print(f"Trakt sign-in stored in the warehouse (auth.oauth_tokens, trakt/{account}){expires}; put the "
                  "client secret in the trakt connection's extra `client_secret` so tasks can refresh it.")


def _configured_account() -> str:
    from tracker.cli.common import config

    accounts = [p.accounts["trakt"] for p in config().people if p.accounts.get("trakt")]
    if len(accounts) != 1:
        fail(f"pass --account (the person's accounts.trakt): {len(accounts)} configured people have one")
    return accounts[0]
