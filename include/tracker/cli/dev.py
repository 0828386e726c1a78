"""`tracker env` and `tracker dbt …`: run dbt and airflow by hand against the local stack.

    eval "$(tracker env)"     # then: dbt build, airflow dags list, airflow tasks test …
    tracker dbt build --select fct_sleep_daily
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import console, fail

# the stack's variables a shell needs, by prefix (stack_env holds a few more for the stack's own processes)
SHOWN = ("DBT_", "TRACKER_", "AIRFLOW_HOME", "AIRFLOW__", "AIRFLOW_CONN_", "NO_PROXY")


def register(app: typer.Typer) -> None:
    app.command("env")(env)
    app.command("dbt", context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                                         "help_option_names": []})(dbt)


def shell_env(demo: bool) -> dict[str, str]:
    from tracker.stack.env import stack_env

    return {k: v for k, v in sorted(stack_env(demo=demo).items()) if k.startswith(SHOWN)}


def stack_secrets() -> dict[str, str]:
    from tracker import settings

    return {k: v for k, v in settings.Secrets.load_or_create().__dict__.items() if v}


def holds_secret(value: str, secrets: dict[str, str]) -> bool:
    # a secret, or a piece of one (the API secret key is the JWT secret's first 32 characters)
    return any(secret in value or (len(value) >= 8 and value in secret) for secret in secrets.values())


def _double_quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")


def by_reference(value: str, secrets: dict[str, str]) -> str:
    """`value` as a double-quoted shell word in which every secret is `${_tracker_<name>}` (a prefix of one:
    `${_tracker_<name>:0:N}`), so the printed text holds none of them."""
    for name, secret in secrets.items():
        if value != secret and len(value) >= 8 and secret.startswith(value):
            return f'"${{_tracker_{name}:0:{len(value)}}}"'
    pieces, rest = [], value
    while rest:
        hits = [(rest.find(secret), name, secret) for name, secret in secrets.items() if secret in rest]
        if not hits:
            pieces.append(_double_quoted(rest))
            break
        at, name, secret = min(hits)
        pieces += [_double_quoted(rest[:at]), f"${{_tracker_{name}}}"]
        rest = rest[at + len(secret):]
    return '"' + "".join(pieces) + '"'


# reads the state's secrets.json when the shell evaluates the exports: shell variables, never printed
_READ_SECRETS = ("import json, shlex, sys; "
                 "[print(f'_tracker_{k}={shlex.quote(str(v))}') for k, v in json.load(open(sys.argv[1])).items()]")


def env(
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Print passwords, keys and connection "
                                                                      "secrets as values.")] = False,
    value: Annotated[str | None, typer.Option(
        "--value", metavar="NAME", help="Print one variable's value only (a secret one needs --show-secrets).")] = None,
    demo: Annotated[bool, typer.Option(help="The demo stack's connections (like `tracker up`).")] = True,
) -> None:
    """Shell exports for dbt and airflow against the local stack: `eval "$(tracker env)"`.

    No secret is in the text unless --show-secrets: variables holding one read it from the state's
    secrets.json when the shell evaluates the exports.
    """
    from tracker import settings

    variables, secrets = shell_env(demo), stack_secrets()
    if value is not None:
        if value not in variables:
            fail(f"no variable {value!r}; one of {', '.join(variables)}")
        if holds_secret(variables[value], secrets) and not show_secrets:
            fail(f"{value} holds a secret: add --show-secrets")
        typer.echo(variables[value])
        return
    python = shlex.quote(sys.executable)
    secrets_file = shlex.quote(str(settings.state_dir() / "secrets.json"))
    lines = [f"# the local stack's environment (state {variables['TRACKER_STATE_DIR']}); eval \"$(tracker env)\"",
             f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:\"$PATH\"  # dbt, airflow, tracker"]
    hidden = not show_secrets and any(holds_secret(v, secrets) for v in variables.values())
    if hidden:
        lines.append(f'eval "$({python} -c {shlex.quote(_READ_SECRETS)} {secrets_file})"')
    for name, val in variables.items():
        shown = by_reference(val, secrets) if hidden and holds_secret(val, secrets) else shlex.quote(val)
        lines.append(f"export {name}={shown}")
    if hidden:
        lines.append("unset " + " ".join(f"_tracker_{k}" for k in secrets))
    typer.echo("\n".join(lines))


def dbt(ctx: typer.Context) -> None:
    """dbt ARGS… in dbt_project with the stack's environment (profile, target and log folders); exits with
    dbt's exit code. Example: `tracker dbt build --select fct_sleep_daily`."""
    from tracker.stack.env import stack_env

    variables = stack_env(demo=True)
    executable = variables["DBT_EXECUTABLE"]
    if not Path(executable).exists():
        fail(f"dbt is not installed next to tracker ({executable}): run `make venv`")
    if not ctx.args:
        console.print("usage: tracker dbt ARGS…  (for example: tracker dbt build --select fct_sleep_daily; "
                      "tracker dbt --help for dbt's own help)")
        raise typer.Exit(2)
    try:
        done = subprocess.run([executable, *ctx.args], env={**os.environ, **variables},
                              cwd=variables["DBT_PROJECT_DIR"], check=False)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise typer.Exit(done.returncode)
