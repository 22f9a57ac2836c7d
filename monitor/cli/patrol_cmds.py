"""``hotspot heatmap``, ``hotspot patrol`` and ``hotspot patrol-report``: where and when hotspots
are busy, and unpredictable patrol plans weighted by it.

Exit status: 0 done, 2 usage errors (bad date, shift or points file).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from monitor.cli.common import DEFAULT_CONFIG, ConfigOption, console, load_or_exit
from monitor.config import ConfigError
from monitor.patrol.heatmap import DAYS, HeatMap
from monitor.patrol.plan import PlanError
from monitor.patrol.planner import draw_and_record, site_heatmap, site_predictability
from monitor.patrol.points import load_points
from monitor.patrol.records import plan_json
from monitor.site.runtime import Runtime

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        console.print(f"[bold red]error:[/] {option} {value!r}: write YYYY-MM-DD")
        raise typer.Exit(2) from None


def heatmap(
    config: ConfigOption = DEFAULT_CONFIG,
    since: Annotated[str | None, typer.Option("--since", help="first day (YYYY-MM-DD, site time); "
                                              "default: patrol.history_days ago")] = None,
    as_json: JsonOption = False,
) -> None:
    """Per zone, motion alerts and seconds of motion by weekday and hour (site time)."""
    cfg = load_or_exit(config)
    first = _day(since, "--since") if since else None
    runtime = Runtime.open(cfg)
    try:
        with runtime.sessions() as db:
            result = site_heatmap(db, cfg, since=first)
    finally:
        runtime.close()
    typer.echo(json.dumps(result.as_json(), indent=2) if as_json else heatmap_table(result))


def heatmap_table(result: HeatMap) -> str:
    """Events by weekday (rows) and hour (columns), then minutes of motion, for each zone."""
    tz = ZoneInfo(result.timezone)
    since, until = result.since.astimezone(tz), result.until.astimezone(tz)
    lines = [f"Activity from {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} ({result.timezone}); '.' = none"]
    header = "      " + "".join(f"{h:>4d}" for h in range(24))
    for key, activity in sorted(result.zones.items()):
        lines += ["", f"{key}: {activity.total_events()} event(s), {activity.total_seconds():.0f} s of motion",
                  "events" + header[6:]]
        for d, day in enumerate(DAYS):
            lines.append(f"{day:<6}" + "".join(_cell(activity.events[d * 24 + h]) for h in range(24)))
        lines.append("motion minutes")
        for d, day in enumerate(DAYS):
            lines.append(f"{day:<6}" + "".join(_cell(round(activity.seconds[d * 24 + h] / 60)) for h in range(24)))
    return "\n".join(lines)


def _cell(value: int) -> str:
    return f"{value:>4d}" if value else "   ."


def patrol(
    date_: Annotated[str, typer.Option("--date", help="day the shift starts (YYYY-MM-DD, site time)")],
    shift: Annotated[str, typer.Option("--shift", help="HH:MM-HH:MM; an end before the start is the next day")],
    points: Annotated[Path | None, typer.Option("--points", help="YAML/JSON file of named places "
                                                "(points: [{name, zones: [camera/zone]}]); default: patrol.points, "
                                                "else every zone")] = None,
    min_visits: Annotated[int | None, typer.Option("--min-visits", min=1, max=50,
                                                   help="visits per point (default: patrol.min_visits)")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Draw and record a randomized patrol plan for one shift, weighted toward busy places and hours."""
    cfg = load_or_exit(config)
    day = _day(date_, "--date")
    try:
        chosen = load_points(points, cfg) if points else None
    except ConfigError as exc:
        console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    runtime = Runtime.open(cfg)
    try:
        with runtime.sessions.begin() as db:
            plan = plan_json(draw_and_record(db, cfg, day=day, shift=shift, created_by="cli",
                                             points=chosen, min_visits=min_visits))
    except PlanError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(plan, indent=2))
        return
    typer.echo(f"Patrol plan #{plan['id']} for {plan['shift']['label']} ({plan['timezone']}), "
               f"at least {plan['min_visits']} visit(s) per point")
    for visit in plan["visits"]:
        typer.echo(f"  {visit['local']}  {visit['point']}")


def patrol_report(
    days: Annotated[int | None, typer.Option("--days", min=1, max=366,
                                             help="shifts of the last N days (default: patrol.history_days)")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """How often recorded plans sent someone to the same point in the same time slot."""
    cfg = load_or_exit(config)
    runtime = Runtime.open(cfg)
    try:
        with runtime.sessions() as db:
            report = site_predictability(db, cfg, days=days)
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
        return
    typer.echo(f"{report.plans} plan(s), {report.visits} visit(s); {report.repeated_visits} repeated a point and "
               f"{report.slot_minutes}-minute slot of an earlier plan ({report.repeated_share:.1%}); "
               f"the most repeated is in {report.most_repeated_share:.0%} of the plans (a fixed routine: 100%)")
    for item in report.repetitions[:20]:
        typer.echo(f"  {item.point}  {item.slot}  in {item.plans} plans ({item.share:.0%})")


def register(app: typer.Typer) -> None:
    app.command()(heatmap)
    app.command()(patrol)
    app.command("patrol-report")(patrol_report)
