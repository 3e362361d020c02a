"""`vigil triage ...` tasks: staff accounts and rulesets.

    vigil triage user list [--role R] [--area CODE|national] [--enabled|--disabled] [--search TEXT]
    vigil triage user create USERNAME --name "Ada L" --role admin [--area CODE ...] [--email E] [--phone P]
    vigil triage user disable USERNAME [--reason TEXT]      (their sessions end at once)
    vigil triage user enable USERNAME [--reason TEXT]
    vigil triage user roles USERNAME --role R [--role R ...] [--reason TEXT]
    vigil triage user areas USERNAME (--area CODE [--area CODE ...] | --national) [--reason TEXT]
    vigil triage user centre USERNAME (--centre ID | --default) [--reason TEXT]   (a caseworker's)
    vigil triage user contact USERNAME [--email E] [--phone P]   (a detail left out is cleared)
    vigil triage user reset-password USERNAME [--password-stdin]
    vigil triage create-user --username ada --name "Ada L" --role admin   (asks for the password)
    vigil triage check-ruleset FILE       validate a ruleset file, naming each problem
    vigil triage publish-ruleset FILE     put a ruleset in force (an event; earlier decisions keep theirs)
    vigil triage rebuild-memory           refold the repeat/cluster memory from vigil.reports.v1, offset 0

Without a password, `user create` and `user reset-password` print a temporary one, once; Vigil keeps only
its hash. Every change is recorded as made by `cli:<your login>` (or `--by`).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from shared.staffaccess import Role

ROLES = ", ".join(Role)


def register(_commands: Any, modes: Any) -> None:
    _register_users(modes.add_parser("user", help="staff accounts: list, create, disable, enable, roles, areas, "
                                                  "centres, contact details, password resets")
                    .add_subparsers(dest="user_command", required=True, metavar="ACTION"))
    user = modes.add_parser("create-user", help="create a staff account (asks for the password); the same as "
                                                "`user create` with a password of your own")
    user.add_argument("--username", required=True, help="the sign-in name")
    user.add_argument("--name", required=True, help="the display name")
    _account_options(user)
    user.add_argument("--password-env", default="", help="read the password from this environment variable "
                      "instead of asking (for scripts)")
    user.set_defaults(func=create_user)
    check = modes.add_parser("check-ruleset", help="validate a ruleset file, naming each problem")
    check.add_argument("file", help="the ruleset file")
    check.set_defaults(func=check_ruleset)
    publish = modes.add_parser("publish-ruleset", help="put a ruleset in force (earlier decisions keep theirs)")
    publish.add_argument("file", help="the ruleset file")
    publish.add_argument("--by", default=os.environ.get("USER", "admin"), help="who is publishing")
    publish.set_defaults(func=publish_ruleset)
    modes.add_parser("rebuild-memory", help="refold the repeat/cluster memory from vigil.reports.v1, offset 0"
                     ).set_defaults(func=rebuild_memory)


def _register_users(actions: Any) -> None:
    listing = actions.add_parser("list", help="accounts by name, with roles, areas and the latest sign-in")
    listing.add_argument("--role", default="", help=f"only accounts with this role ({ROLES})")
    listing.add_argument("--area", default="", help='only accounts covering this force area code, or "national"')
    listing.add_argument("--search", default="", help="part of a name or username")
    state = listing.add_mutually_exclusive_group()
    state.add_argument("--enabled", dest="enabled", action="store_const", const=True, default=None)
    state.add_argument("--disabled", dest="enabled", action="store_const", const=False)
    listing.set_defaults(func=user_list)
    create = _user_action(actions, "create", "create an account; prints a temporary password once", user_create)
    create.add_argument("--name", required=True, help="the name colleagues know this person by")
    _account_options(create)
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    for name, text, func in (("disable", "disable an account; its sessions end at once", user_disable),
                             ("enable", "enable a disabled account", user_enable)):
        _user_action(actions, name, text, func).add_argument("--reason", default="", help="why, for the history")
    roles = _user_action(actions, "roles", "set an account's roles (every role it should have)", user_roles)
    roles.add_argument("--role", action="append", required=True, help=f"a role; repeat for several ({ROLES})")
    roles.add_argument("--reason", default="", help="why, for the history")
    areas = _user_action(actions, "areas", "set the force areas an account covers", user_areas)
    areas.add_argument("--area", action="append", default=[], help="a force area code; repeat for several")
    areas.add_argument("--national", action="store_true", help="no particular area: national")
    areas.add_argument("--reason", default="", help="why, for the history")
    centre = _user_action(actions, "centre", "set a caseworker's reporting centre (from their next request)",
                          user_centre)
    centre.add_argument("--centre", default="", help="the centre's id, as intake knows it (tell-mama ...)")
    centre.add_argument("--default", action="store_true", help="no centre of its own: the deployment's default")
    centre.add_argument("--reason", default="", help="why, for the history")
    contact = _user_action(actions, "contact", "set an account's email and phone for notifications", user_contact)
    contact.add_argument("--email", default="", help="left out: none")
    contact.add_argument("--phone", default="", help="left out: none")
    reset = _user_action(actions, "reset-password", "reset a password; prints a temporary one once, or reads "
                         "one from standard input; the person's sessions end", user_reset_password)
    reset.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")


def _user_action(actions: Any, name: str, text: str, func: Callable[[argparse.Namespace], int]) -> Any:
    action = actions.add_parser(name, help=text)
    action.add_argument("username", help="the account's username")
    action.add_argument("--by", default=_login(), help="who is making the change (default: your login)")
    action.set_defaults(func=func)
    return action


def _account_options(parser: Any) -> None:
    parser.add_argument("--role", action="append", required=True, help=f"a role; repeat for several ({ROLES})")
    parser.add_argument("--area", action="append", default=[],
                        help="a force area code (E23000001 ...); repeat for several; none means national")
    parser.add_argument("--email", default="", help="email address for notifications")
    parser.add_argument("--phone", default="", help="phone number for notifications")
    parser.add_argument("--centre", default="", help="a caseworker's reporting centre (its intake centre id); "
                        "left out: the deployment's default centre")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def _triage() -> Any:
    from services.triage.main import build

    return build()


@contextmanager
def _accounts() -> Iterator[Any]:
    triage = _triage()
    try:
        yield triage.auth.accounts
    finally:
        triage.db.dispose()


def _refused(run: Callable[[Any], int]) -> int:
    """Run against the accounts; a refusal is one plain line on standard error and a non-zero exit."""
    from services.triage.accounts import AccountConflict, InvalidUser, UnknownAccount

    try:
        with _accounts() as accounts:
            return run(accounts)
    except (InvalidUser, UnknownAccount) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except AccountConflict as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _by(args: argparse.Namespace) -> Any:
    from services.triage.accounts import CommandLine

    return CommandLine(getattr(args, "by", "") or _login())


def _stdin_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def user_list(args: argparse.Namespace) -> int:
    from services.triage.accounts import AccountFilter
    from shared.web.filters import london_time

    def run(accounts: Any) -> int:
        found = accounts.all(_by(args), AccountFilter(args.search, args.role, args.area, args.enabled))
        for a in found:
            print("\t".join([a.username, a.display_name, ",".join(a.roles), ",".join(a.areas) or "national",
                             "enabled" if a.enabled else "disabled",
                             london_time(a.last_sign_in_at) or "never signed in"]))
        print(f"{len(found)} account{'s' if len(found) != 1 else ''}", file=sys.stderr)
        return 0

    return _refused(run)


def user_create(args: argparse.Namespace) -> int:
    from services.triage.accounts import NewAccount

    password = _stdin_password() if args.password_stdin else None

    def run(accounts: Any) -> int:
        created = accounts.create(_by(args), NewAccount(args.username, args.name, args.role, args.area,
                                                        args.email, args.phone, password, args.centre))
        print(f"created {created.username} ({', '.join(sorted(set(args.role)))}; "
              f"{', '.join(sorted(set(args.area))) or 'national'}), user id {created.user_id}")
        _print_temporary(created.temporary_password)
        return 0

    return _refused(run)


def _print_temporary(temporary: str | None) -> None:
    if temporary:
        print(f"temporary password (shown once; give it to the person): {temporary}")


def _named(accounts: Any, args: argparse.Namespace) -> Any:
    return accounts.named(_by(args), args.username)


def user_disable(args: argparse.Namespace) -> int:
    def run(accounts: Any) -> int:
        ended = accounts.disable(_by(args), _named(accounts, args).user_id, args.reason)
        print(f"disabled {args.username}; {ended} session{'s' if ended != 1 else ''} ended")
        return 0

    return _refused(run)


def user_enable(args: argparse.Namespace) -> int:
    def run(accounts: Any) -> int:
        accounts.enable(_by(args), _named(accounts, args).user_id, args.reason)
        print(f"enabled {args.username}")
        return 0

    return _refused(run)


def user_roles(args: argparse.Namespace) -> int:
    def run(accounts: Any) -> int:
        changed = accounts.set_roles(_by(args), _named(accounts, args).user_id, args.role, args.reason)
        roles = ", ".join(sorted(set(args.role)))
        print(f"{args.username} now has the roles {roles}" if changed else f"{args.username} already had {roles}")
        return 0

    return _refused(run)


def user_areas(args: argparse.Namespace) -> int:
    if bool(args.area) == bool(args.national):
        print("error: give --area CODE (repeat for several) or --national, not both", file=sys.stderr)
        return 2

    def run(accounts: Any) -> int:
        changed = accounts.set_areas(_by(args), _named(accounts, args).user_id, args.area, args.reason)
        areas = ", ".join(sorted({a.upper() for a in args.area})) or "national"
        print(f"{args.username} now covers {areas}" if changed else f"{args.username} already covered {areas}")
        return 0

    return _refused(run)


def user_centre(args: argparse.Namespace) -> int:
    if bool(args.centre.strip()) == bool(args.default):
        print("error: give --centre ID or --default, not both", file=sys.stderr)
        return 2

    def run(accounts: Any) -> int:
        changed = accounts.set_centre(_by(args), _named(accounts, args).user_id, args.centre, args.reason)
        centre = args.centre.strip().lower() or "the default centre"
        print(f"{args.username} now works for {centre}" if changed else f"{args.username} already worked for {centre}")
        return 0

    return _refused(run)


def user_contact(args: argparse.Namespace) -> int:
    def run(accounts: Any) -> int:
        changed = accounts.set_contact(_by(args), _named(accounts, args).user_id, args.email, args.phone)
        print(f"contact details of {args.username} {'changed' if changed else 'unchanged'}")
        return 0

    return _refused(run)


def user_reset_password(args: argparse.Namespace) -> int:
    password = _stdin_password() if args.password_stdin else None

    def run(accounts: Any) -> int:
        temporary = accounts.reset_password(_by(args), _named(accounts, args).user_id, password)
        print(f"password of {args.username} reset; their sessions ended")
        _print_temporary(temporary)
        return 0

    return _refused(run)


def create_user(args: argparse.Namespace) -> int:
    from services.triage.accounts import NewAccount

    if args.password_env:
        password = os.environ.get(args.password_env, "")
    else:
        password = getpass.getpass("Password (12 characters or more): ")
        if getpass.getpass("Again: ") != password:
            print("The two passwords differ; nothing was created.", file=sys.stderr)
            return 2

    def run(accounts: Any) -> int:
        created = accounts.create(_by(args), NewAccount(args.username, args.name, args.role, args.area,
                                                        args.email, args.phone, password, args.centre))
        print(f"created {created.username} ({', '.join(args.role)}), user id {created.user_id}")
        return 0

    return _refused(run)


def _load(path: str) -> Any:
    """The ruleset in `path`, or None once every problem with it has been explained."""
    from services.triage.rules import RulesetInvalid, load_ruleset_file

    try:
        return load_ruleset_file(path)
    except (OSError, RulesetInvalid) as e:
        _explain(e)
        return None


def check_ruleset(args: argparse.Namespace) -> int:
    ruleset = _load(args.file)
    if ruleset is None:
        return 2
    print(f"{args.file}: ruleset {ruleset.name} version {ruleset.version} is valid "
          f"({len(ruleset.rule_codes)} rules: {', '.join(ruleset.rule_codes)})")
    return 0


def publish_ruleset(args: argparse.Namespace) -> int:
    from services.triage.publishing import RulesetConflict

    ruleset = _load(args.file)
    if ruleset is None:
        return 2
    triage = _triage()
    try:
        published = triage.rulesets.publish(ruleset, args.by)
    except RulesetConflict as e:
        print(str(e), file=sys.stderr)
        return 2
    finally:
        triage.db.dispose()
    print(f"ruleset {ruleset.version} " + ("is now in force" if published else "was already published"))
    return 0


def _explain(e: Exception) -> None:
    from services.triage.rules import RulesetInvalid

    if isinstance(e, RulesetInvalid):
        print("The ruleset cannot be used:", file=sys.stderr)
        for err in e.errors:
            print(f"  {err['path']}: {err['message']}", file=sys.stderr)
    else:
        print(f"cannot read the ruleset: {e}", file=sys.stderr)


def rebuild_memory(_args: argparse.Namespace) -> int:
    from shared.topics import REPORTS

    triage = _triage()
    try:
        folded = triage.decisions.rebuild_memory(read_from_start(triage.kafka.settings.kafka_bootstrap,
                                                                 triage.kafka.names(REPORTS)))
    finally:
        triage.db.dispose()
    print(f"report memory rebuilt from {folded} events")
    return 0


def read_from_start(bootstrap: str, topic: str) -> Any:
    """Every record now on the topic, partition by partition in offset order (a report's events share one)."""
    from kafka import KafkaConsumer, TopicPartition

    from shared.kafka import UndecodableRecord, decode

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            while consumer.position(tp) < ends[tp]:
                for record in consumer.poll(timeout_ms=1000).get(tp, []):
                    try:
                        yield decode(record)
                    except UndecodableRecord:
                        continue
    finally:
        consumer.close()
