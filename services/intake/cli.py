"""`vigil intake-key ...`: API keys for third-party reporting centres; `vigil erase`: a report's personal data.

    vigil intake-key create --centre ID --name NAME [--trusted]   prints the key once
    vigil intake-key list
    vigil intake-key revoke KEY_ID
    vigil erase REFERENCE --reason TEXT [--by NAME]   as POST /v1/reports/{reference}/erasure; cannot be undone

An erasure is recorded as made by `cli:<your login>` (or `--by`). The reason is kept for the audit after
the report is gone, so it names no one.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from typing import Any

CENTRE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")


def register(commands: Any, _modes: Any) -> None:
    p = commands.add_parser("intake-key", help="manage reporting centres' API keys for intake")
    keys = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = keys.add_parser("create", help="issue a key (shown once; only its hash is stored)")
    create.add_argument("--centre", required=True, help="the centre's id, e.g. tell-mama")
    create.add_argument("--name", required=True, help="a name for this key, e.g. 'web form 2026'")
    create.add_argument("--trusted", action="store_true", help="a trusted centre: source grading 1, not 2")
    create.set_defaults(func=_create)
    lister = keys.add_parser("list", help="list keys (never the secrets)")
    lister.set_defaults(func=_list)
    revoke = keys.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=_revoke)
    erase = commands.add_parser("erase", help="erase a report's personal data everywhere (cannot be undone)")
    erase.add_argument("reference", help="the report's reference, e.g. QH7DKT4MXA")
    erase.add_argument("--reason", required=True, help="why, for the audit (kept after erasure: name no one)")
    erase.add_argument("--by", default="", help="who asks (default: cli:<your login>)")
    erase.set_defaults(func=_erase)


def _centres() -> Any:
    from services.intake.centres import Centres
    from services.intake.settings import IntakeSettings
    from shared.clock import SystemClock
    from shared.db import Database

    return Centres(Database(IntakeSettings().database_url), SystemClock())


def _create(args: argparse.Namespace) -> int:
    if not CENTRE_ID.match(args.centre):
        print("--centre must be 2-64 lower-case letters, digits, '-' or '_'", file=sys.stderr)
        return 2
    if not args.name.strip() or len(args.name) > 200:
        print("--name must be 1-200 characters", file=sys.stderr)
        return 2
    issued = _centres().issue(args.centre, args.name.strip(), args.trusted)
    print(f"key id:  {issued.key_id}\ncentre:  {issued.centre_id}\ntrusted: {issued.trusted}")
    print(f"API key: {issued.api_key}\n(send it as the X-API-Key header; it is not shown again)")
    return 0


def _list(_args: argparse.Namespace) -> int:
    for k in _centres().list():
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        print(f"{k.key_id}  {k.centre_id:<20} {'trusted' if k.trusted else 'untrusted':<9} {state:<18} {k.name}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    if _centres().revoke(args.key_id):
        print(f"revoked {args.key_id}")
        return 0
    print(f"no active key {args.key_id}", file=sys.stderr)
    return 1


def _protection() -> Any:
    from services.intake import tables
    from services.intake.erasure import DataProtection
    from services.intake.settings import IntakeSettings
    from shared.clock import SystemClock
    from shared.db import Database
    from shared.eventstore import EventStore
    from shared.settings import VigilSettings

    clock = SystemClock()
    store = EventStore(tables.metadata, source="/vigil/intake", clock=clock)
    return DataProtection(Database(IntakeSettings().database_url), store, clock, VigilSettings().master_key_bytes())


def _erase(args: argparse.Namespace) -> int:
    """0 once the report is erased (also if it was already); 1 if a hold stands or there is no such report."""
    from services.intake.application import UnknownReport
    from services.intake.erasure import AlreadyErased, UnderHold

    reason = args.reason.strip()
    if not reason or len(reason) > 500:
        print("--reason must be 1-500 characters", file=sys.stderr)
        return 2
    try:
        done = _protection().erase(args.reference, args.by.strip() or f"cli:{getpass.getuser()}", reason)
    except UnknownReport:
        print(f"no report {args.reference.upper()}", file=sys.stderr)
        return 1
    except AlreadyErased as e:
        print(f"{args.reference.upper()} was erased already, at {e.erased_at:%Y-%m-%d %H:%M:%S %Z}")
        return 0
    except UnderHold as e:
        print(f"not erased: a {e.hold.kind.value} hold stands (hold {e.hold.hold_id}, placed by {e.hold.placed_by} "
              f"at {e.hold.placed_at:%Y-%m-%d %H:%M %Z}); release it first", file=sys.stderr)
        return 1
    print(f"erased {done.reference} at {done.erased_at:%Y-%m-%d %H:%M:%S %Z} for {done.requested_by}")
    return 0
