"""`vigil notify ...` tasks.

    vigil notify check-directory [FILE]    validate a directory (people, rotas, policies, partners), naming each
                                           problem, and show who is on call now and how an alert would escalate
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any


def register(_commands: Any, modes: Any) -> None:
    p = modes.add_parser("check-directory",
                         help="validate the directory and show who is on call and how alerts escalate")
    p.add_argument("file", nargs="?", help="the directory file (default: NOTIFY_DIRECTORY_FILE)")
    p.set_defaults(func=check_directory)


def check_directory(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from services.notify.policy import FIRST_PAGE, Page, load_directory, next_page
    from services.notify.settings import NotifySettings

    path = args.file or NotifySettings().directory_file
    try:
        directory = load_directory(path)
    except (OSError, ValueError, ValidationError) as e:
        print(f"{path or 'the development directory'} is not usable:", file=sys.stderr)
        for line in str(e).splitlines():
            print(f"  {line}", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    print(f"{path or 'development directory'}: {len(directory.people)} people, {len(directory.areas)} areas, "
          f"{len(directory.policies)} policies, {len(directory.partners)} partner subscriptions")
    for area in directory.areas:
        policy = directory.policy_for(area)
        steps: list[str] = []
        page: Page | None = FIRST_PAGE
        offset = 0.0
        while page is not None and len(steps) < 24:
            people = ", ".join(directory.level_people(area, page.level, now))
            steps.append(f"+{offset:g} min {page.label} -> {people}")
            following, wait = next_page(policy, page)
            offset += wait.total_seconds() / 60
            page = following
        print(f"\n{area}: on call now {directory.on_call(area, now)}")
        for step in steps:
            print(f"  {step}")
    return 0
