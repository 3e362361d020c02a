"""`vigil triage ...` tasks: staff accounts and rulesets.

    vigil triage create-user --username ada --name "Ada L" --role admin   (asks for the password)
    vigil triage check-ruleset FILE       validate a ruleset file, naming each problem
    vigil triage publish-ruleset FILE     put a ruleset in force (an event; earlier decisions keep theirs)
    vigil triage rebuild-memory           refold the repeat/cluster memory from vigil.reports.v1, offset 0
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from services.triage.access import Role

TASKS = ("create-user", "check-ruleset", "publish-ruleset", "rebuild-memory")


def register(sub: Any) -> None:
    """Extend `vigil triage MODE` with the tasks as further modes (`vigil triage create-user ...`)."""
    p = sub.choices.get("triage") or sub.add_parser("triage", help="run the triage service")
    mode = next((a for a in p._actions if a.dest == "mode"), None)
    if mode is None:
        p.add_argument("mode", choices=TASKS)
    else:
        mode.choices = [*mode.choices, *TASKS]
    p.add_argument("file", nargs="?", help="check-ruleset, publish-ruleset: the ruleset file")
    p.add_argument("--username", help="create-user: the sign-in name")
    p.add_argument("--name", help="create-user: the display name")
    p.add_argument("--role", action="append", choices=[r.value for r in Role],
                   help="create-user: a role; repeat for several")
    p.add_argument("--password-env", default="", help="create-user: read the password from this environment "
                   "variable instead of asking (for scripts)")
    p.add_argument("--by", default=os.environ.get("USER", "admin"), help="publish-ruleset: who is publishing")
    run_service = p.get_default("func")

    def dispatch(args: argparse.Namespace) -> int:
        task = {"create-user": create_user, "check-ruleset": check_ruleset,
                "publish-ruleset": publish_ruleset, "rebuild-memory": rebuild_memory}.get(args.mode)
        if task is None:
            return int(run_service(args) or 0)
        return task(args)

    p.set_defaults(func=dispatch)


def _triage() -> Any:
    from services.triage.main import build

    return build()


def create_user(args: argparse.Namespace) -> int:
    from services.triage.auth import InvalidUser

    if not (args.username and args.name and args.role):
        print("create-user needs --username, --name and at least one --role", file=sys.stderr)
        return 2

    if args.password_env:
        password = os.environ.get(args.password_env, "")
    else:
        password = getpass.getpass("Password (12 characters or more): ")
        if getpass.getpass("Again: ") != password:
            print("The two passwords differ; nothing was created.", file=sys.stderr)
            return 2
    triage = _triage()
    try:
        user_id = triage.auth.create_user(args.username, args.name, password, args.role)
    except InvalidUser as e:
        print(f"{e.field}: {e}", file=sys.stderr)
        return 2
    finally:
        triage.db.dispose()
    print(f"created {args.username} ({', '.join(args.role)}), user id {user_id}")
    return 0


def check_ruleset(args: argparse.Namespace) -> int:
    from services.triage.rules import RulesetInvalid, load_ruleset_file

    if not args.file:
        print("give the ruleset file", file=sys.stderr)
        return 2
    try:
        ruleset = load_ruleset_file(args.file)
    except (OSError, RulesetInvalid) as e:
        _explain(e)
        return 2
    print(f"{args.file}: ruleset {ruleset.name} version {ruleset.version} is valid "
          f"({len(ruleset.rule_codes)} rules: {', '.join(ruleset.rule_codes)})")
    return 0


def publish_ruleset(args: argparse.Namespace) -> int:
    from services.triage.rules import RulesetInvalid, load_ruleset_file
    from services.triage.stores import RulesetConflict

    if not args.file:
        print("give the ruleset file", file=sys.stderr)
        return 2
    try:
        ruleset = load_ruleset_file(args.file)
    except (OSError, RulesetInvalid) as e:
        _explain(e)
        return 2
    triage = _triage()
    try:
        published = triage.app.publish_ruleset(ruleset, args.by)
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
        folded = triage.app.rebuild_memory(read_from_start(triage.kafka.settings.kafka_bootstrap,
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
