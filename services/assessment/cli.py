"""`vigil assessment ...`: the service modes plus `rebuild`, `report` and `import-history`; `vigil sites import`.

"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any


def register(commands: Any, modes: Any) -> None:
    rebuild = modes.add_parser("rebuild", help="replay the event topics from offset 0 into a fresh projection")
    rebuild.add_argument("--into", metavar="DATABASE_URL", help="write the projection here (default: the service's)")
    rebuild.add_argument("--full", action="store_true", help="ignore snapshots and replay from offset 0")
    rebuild.add_argument("--check", action="store_true", help="compare with the live projection; exit 1 if different")
    rebuild.set_defaults(func=rebuild_command)
    report = modes.add_parser("report", help="write the strategic assessment (PDF or HTML by the file's suffix)")
    report.add_argument("--area", help="force area code (default: all areas)")
    report.add_argument("--from", dest="start", type=_day, help="first day, YYYY-MM-DD (default: 28 days ago)")
    report.add_argument("--to", dest="end", type=_day, help="last day, YYYY-MM-DD (default: today)")
    report.add_argument("--out", required=True, type=Path, help="FILE.pdf or FILE.html")
    report.set_defaults(func=report_command)
    seeding = modes.add_parser("import-history", help="seed areas' normals with daily counts from a force's records")
    seeding.add_argument("file", type=Path, help="CSV with columns area,date,count and optionally strand "
                                                 "(docs/assessment.md)")
    seeding.set_defaults(func=import_history_command)
    sites = commands.add_parser("sites", help="the register of places of worship and faith sites")
    actions = sites.add_subparsers(dest="action", required=True, metavar="ACTION")
    importing = actions.add_parser("import", help="register the sites in a CSV file (all of them, or none)")
    importing.add_argument("file", type=Path, help="CSV with at least name,faith,area,postcode_district,"
                                                   "capacity_band,measures (docs/places-of-worship.md)")
    importing.add_argument("--by", default="", help="who imports (default: cli:<your login>)")
    importing.set_defaults(func=import_sites_command)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date in the form YYYY-MM-DD") from None


def _settings() -> tuple[Any, Any]:
    from services.assessment.settings import AssessmentSettings
    from shared.settings import VigilSettings

    return VigilSettings(), AssessmentSettings()


def rebuild_command(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from services.assessment.rebuild import Rebuild, live_digest
    from shared.clock import SystemClock
    from shared.db import Database
    from shared.migrate import upgrade
    from shared.topics import TopicNames

    vigil, settings = _settings()
    url = args.into or settings.database_url
    upgrade("assessment", url)
    db = Database(url)
    registry = settings.registry()
    job = Rebuild(vigil.kafka_bootstrap, TopicNames(vigil.topic_prefix), registry, db, SystemClock(),
                  snapshot_every=settings.snapshot_every)
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TextColumn("events"),
               TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("rebuild", total=None)
        result = job.run(resume=not args.full, digest=args.check,
                         progress=lambda done, total: bar.update(task, completed=done, total=total))
    db.dispose()
    resumed = f" (resumed from a snapshot of {result.resumed_from} events)" if result.resumed_from else ""
    print(f"rebuilt from {result.events} events{resumed}; {result.skipped} skipped")
    if args.check:
        print(f"digest of the rebuilt projection: {result.digest}")
        live = Database(settings.database_url)
        other = live_digest(live, registry)
        live.dispose()
        if other != result.digest:
            print(f"the live projection differs: digest {other}", file=sys.stderr)
            return 1
        print("the live projection is identical")
    return 0


def report_command(args: argparse.Namespace) -> int:
    from services.assessment.queries import period
    from services.assessment.report import build_assessment, render_html, render_pdf
    from services.assessment.sites.guidance import load_guidance_file
    from shared.db import Database
    from shared.problems import Problem

    _vigil, settings = _settings()
    registry = settings.registry()
    if args.area and args.area not in registry:
        print(f"vigil assessment report: unknown area code '{args.area}'", file=sys.stderr)
        return 2
    if args.out.suffix.lower() not in (".pdf", ".html"):
        print("vigil assessment report: --out must end in .pdf or .html", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    try:
        first, last = period(args.start, args.end, now.date())
    except Problem as e:
        print(f"vigil assessment report: {e}", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    with db.snapshot() as s:
        doc = build_assessment(s, registry, settings.scoring(), args.area, first, last, now,
                               load_guidance_file(settings.guidance_file))
    db.dispose()
    if args.out.suffix.lower() == ".pdf":
        args.out.write_bytes(render_pdf(doc))
    else:
        args.out.write_text(render_html(doc, pdf_href=args.out.with_suffix(".pdf").name), encoding="utf-8")
    print(f"wrote {args.out} ({len(doc.items)} items, {len(doc.areas)} areas)")
    return 0


def import_sites_command(args: argparse.Namespace) -> int:
    """Every bad row is named and nothing is registered; exit 1 then, 0 once every site is registered."""
    import getpass

    from services.assessment.main import build
    from services.assessment.sites.importing import parse_sites
    from services.assessment.sites.register import SiteInvalid

    vigil, settings = _settings()
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        print(f"vigil sites import: cannot read {args.file}: {e}", file=sys.stderr)
        return 2
    parsed = parse_sites(text, settings.registry())
    for error in parsed.errors:
        print(f"{args.file.name}: {error}", file=sys.stderr)
    if parsed.errors:
        print(f"vigil sites import: nothing imported ({len(parsed.errors)} problem(s))", file=sys.stderr)
        return 1
    core = build(vigil, settings)
    try:
        ids = core.sites.register(parsed.sites, args.by.strip() or f"cli:{getpass.getuser()}")
    except SiteInvalid as e:
        for p in e.problems:
            print(f"{args.file.name}: {_row_of(p.field)}{p.message}", file=sys.stderr)
        print("vigil sites import: nothing imported", file=sys.stderr)
        return 1
    finally:
        core.db.dispose()
    print(f"imported {len(ids)} site(s); they reach vigil.sites.v1 when the assessment service runs")
    return 0


def _row_of(field: str) -> str:
    """`sites[2].name` is the third data row."""
    if field.startswith("sites["):
        number = int(field[6:field.index("]")]) + 1
        return f"row {number} (line {number + 1}), {field.split('.', 1)[1]}: "
    return f"{field}: "


def import_history_command(args: argparse.Namespace) -> int:
    """Every bad row is named and nothing is imported (exit 1); importing the same file again changes nothing."""
    from services.assessment.history import parse_history, store_history
    from shared.db import Database
    from shared.migrate import upgrade

    _vigil, settings = _settings()
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        print(f"vigil assessment import-history: cannot read {args.file}: {e}", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    parsed = parse_history(text, settings.registry(), now.date())
    for error in parsed.errors:
        print(f"{args.file.name}: {error}", file=sys.stderr)
    if parsed.errors:
        print(f"vigil assessment import-history: nothing imported ({len(parsed.errors)} problem(s))",
              file=sys.stderr)
        return 1
    upgrade("assessment", settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.transaction() as s:
            n = store_history(s, parsed.rows, now)
    finally:
        db.dispose()
    areas = len({row.area for row in parsed.rows})
    print(f"imported {n} day(s) of history for {areas} area(s); they count towards those areas' normals")
    return 0
