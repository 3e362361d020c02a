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


def register(_commands: Any, modes: Any) -> None:
    user = modes.add_parser("create-user", help="create a staff account (asks for the password)")
    user.add_argument("--username", required=True, help="the sign-in name")
    user.add_argument("--name", required=True, help="the display name")
    user.add_argument("--role", action="append", required=True, choices=[r.value for r in Role],
                      help="a role; repeat for several")
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
