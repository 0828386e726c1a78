"""A demo study: a config of N pseudonymous demo people and their Google Health sign-ins (`tracker demo --people N`).

Each person `pNN` (the warehouse never sees a name or an e-mail) has every API account the demo serves: a Google
Health sign-in row `pNN` whose refresh token `demo-refresh-pNN` the demo token endpoint binds to a seeded variant
of the demo person, GitHub and Last.fm users `demo-user-pNN`, one location (five German cities in turn). Trakt
holds one user's token per connection, so only the first person has it. The last `revoked` people's refresh
tokens are `demo-revoked-pNN`, which the demo refuses like Google refuses a revoked sign-in (invalid_grant):
their extract fails alone, saying which command signs them in again.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

ZONE = "Europe/Berlin"  # the demo person's data follow Berlin's clock
CITIES = (("berlin", 52.52, 13.41), ("hamburg", 53.55, 9.99), ("munich", 48.14, 11.58),
          ("cologne", 50.94, 6.96), ("leipzig", 51.34, 12.37))


def person_ids(n: int) -> list[str]:
    width = max(2, len(str(n)))
    return [f"p{i:0{width}d}" for i in range(1, n + 1)]


def study_people(n: int, revoked: int = 0, collect_from: date | None = None) -> list[dict]:
    """The config's `people:` entries of an n-person demo study (the last `revoked` are marked for `sign_ins`);
    `collect_from`: everyone's collection window starts that day (the completeness report counts from it)."""
    if not 1 <= n <= 500:
        raise ValueError(f"--people must be between 1 and 500 (got {n})")
    if not 0 <= revoked < n:
        raise ValueError(f"--revoked must be between 0 and {n - 1} (got {revoked}): someone must stay signed in")
    people = []
    for i, pid in enumerate(person_ids(n)):
        city, lat, lon = CITIES[i % len(CITIES)]
        accounts = {"google_health": pid, "github": f"demo-user-{pid}", "lastfm": f"demo-user-{pid}"}
        if i == 0:
            accounts["trakt"] = "demo-user"
        people.append({"id": pid, "timezone": ZONE, "birth_year": 1960 + (i * 7) % 40,
                       **({"collect_from": collect_from} if collect_from else {}),
                       "locations": [{"name": city, "latitude": lat, "longitude": lon, "timezone": ZONE}],
                       "accounts": accounts})
    return people


def revoked_ids(n: int, revoked: int) -> list[str]:
    return person_ids(n)[n - revoked:] if revoked else []


def write_study_config(path: Path, n: int, revoked: int = 0, collect_from: date | None = None) -> Path:
    """Write the study's config file (validated by the config model before it is written)."""
    from tracker.config import TrackerConfig

    people = study_people(n, revoked, collect_from)
    TrackerConfig.model_validate({"people": people})
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# A demo study of {n} pseudonymous people written by `tracker demo --people {n}"
              f"{f' --revoked {revoked}' if revoked else ''}`.\n"
              f"# Revoked sign-ins: {', '.join(revoked_ids(n, revoked)) or 'none'}.\n")
    path.write_text(header + yaml.safe_dump({"people": people}, sort_keys=False))
    return path


def seed_sign_ins(n: int, revoked: int = 0) -> dict[str, str]:
    """What `tracker auth google-health --account pNN` would leave for each person (the demo's sign-in:
    an expired access token and a refresh token, so the first task refreshes); revoked people get a refresh
    token the demo refuses. Returns person → refresh token. The demo's own rows: rewritten on every call, so
    `--revoked` takes effect."""
    from tracker.stack.local import seed_demo_sign_in

    gone = set(revoked_ids(n, revoked))
    tokens = {pid: f"demo-{'revoked' if pid in gone else 'refresh'}-{pid}" for pid in person_ids(n)}
    for pid, refresh in tokens.items():
        seed_demo_sign_in(pid, refresh_token=refresh, replace=True)
    return tokens
