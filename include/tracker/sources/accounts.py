"""Which configured people a source serves: those with an account for it in the config (`accounts:`)."""

from __future__ import annotations

import logging

from tracker.config import Person, TrackerConfig

log = logging.getLogger(__name__)


def people_with_account(config: TrackerConfig, account: str) -> list[tuple[Person, str]]:
    """(person, account name) for every person with `accounts[account]`; the others are skipped, logged."""
    found = []
    for person in config.people:
        name = person.accounts.get(account)
        if name:
            found.append((person, name))
        else:
            log.info("person %r has no %r account in the config: skipped", person.id, account)
    return found
