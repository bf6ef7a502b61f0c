"""`engram retention`: how long captures are kept, the disk budget, and usage now."""
from __future__ import annotations

import argparse
import sys

from app.cli.context import Context, add_command
from core import retention, timefmt
from core.errors import UsageError
from core.retention import RetentionPolicy
from core.units import format_bytes, parse_size


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "retention", cmd_retention,
                    "how long captures are kept and how much disk Engram may use; "
                    "disk use now", json_option=True)
    p.add_argument("--days", type=int, metavar="N",
                   help="forget captures older than N days (0: keep forever)")
    p.add_argument("--budget", metavar="SIZE",
                   help="forget the oldest captures when the data exceeds SIZE (e.g. 5GB; "
                        "0: no budget)")
    p.add_argument("--sources", metavar="LIST",
                   help=f"which captures expire, comma-separated from "
                        f"{','.join(retention.SOURCES)} (default: screen)")
    memories = p.add_mutually_exclusive_group()
    memories.add_argument("--keep-memories", dest="keep_memories", action="store_const",
                          const=True, help="keep what was learned from expired captures "
                                           "(default)")
    memories.add_argument("--forget-memories", dest="keep_memories", action="store_const",
                          const=False, help="memories learned only from them go too")
    p.add_argument("--apply", action="store_true",
                   help="forget what is past keeping now (the running app or daemon does "
                        "it every hour)")
    p.add_argument("--yes", action="store_true", help="don't ask before forgetting")


def _given(ctx: Context) -> dict[str, object]:
    """The settings the command line changes (checked, not saved yet)."""
    args = ctx.args
    given = {}
    if args.days is not None:
        if args.days < 0:
            raise UsageError("--days must be 0 (forever) or more.")
        given["retention_days"] = args.days
    if args.budget is not None:
        given["retention_budget_mb"] = parse_size(args.budget) // retention.MB
        if parse_size(args.budget) and not given["retention_budget_mb"]:
            raise UsageError("A budget must be at least 1MB.")
    if args.sources is not None:
        names = [s.strip() for s in args.sources.split(",") if s.strip()]
        unknown = [s for s in names if s not in retention.SOURCES]
        if unknown:
            raise UsageError(f"Unknown source {', '.join(unknown)}: choose from "
                             f"{', '.join(retention.SOURCES)} (indexed files stay while "
                             "their folder is watched).")
        given["retention_sources"] = names
    if args.keep_memories is not None:
        given["retention_keep_memories"] = args.keep_memories
    return given


def describe_policy(policy: RetentionPolicy) -> tuple[str, str]:
    scope = ", ".join(policy.sources) or "nothing"
    keep = (f"{policy.days} days ({scope})" if policy.days else "forever")
    if policy.days and policy.sources:
        keep += "; memories learned from them " + ("stay" if policy.keep_memories else "go too")
    budget = format_bytes(policy.budget_bytes) if policy.budget_bytes else "none"
    return keep, budget


def cmd_retention(ctx: Context) -> int:
    given = _given(ctx)
    policy = RetentionPolicy.from_settings({**ctx.settings.as_dict(), **given})
    engine = ctx.engine(create=False, make_room=bool(ctx.args.apply))
    db = engine.store.reader()
    paths = engine.paths
    usage = retention.measure(db, engine.store.path, backups_dir=paths.backups_dir,
                              models_dir=paths.models_dir)
    would = retention.preview(db, policy)
    report = None
    if ctx.args.apply and would.total and not ctx.args.yes:
        if ctx.json or not sys.stdin.isatty():
            raise UsageError(f"This would forget {would.total:,} items; add --yes to "
                             "confirm without a terminal. Nothing was changed.")
        answer = input(f"Forget {would.total:,} items for good? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            ctx.out("Nothing changed, nothing forgotten.")
            return 1
    if ctx.args.apply and would.total:
        report = retention.apply(engine.pipeline, policy)
        usage = retention.measure(engine.store.reader(), engine.store.path,
                                  backups_dir=paths.backups_dir, models_dir=paths.models_dir)
    for key, value in given.items():  # saved once confirmed, after forgetting made room
        ctx.settings.set(key, value)
    if ctx.json:
        ctx.emit_json({
            "policy": {"days": policy.days, "budget_bytes": policy.budget_bytes,
                       "sources": list(policy.sources), "keep_memories": policy.keep_memories},
            "usage": usage.to_dict(),
            "would_forget": {"expired": would.expired, "over_budget": would.over_budget,
                             "budget_reachable": would.budget_reachable},
            "applied": None if report is None else {
                "expired": report.expired, "over_budget": report.over_budget,
                "freed_bytes": report.freed_bytes,
                "still_over_budget": report.still_over_budget},
        })
        return 0
    keep, budget = describe_policy(policy)
    if given:
        ctx.out("Saved. The running app or daemon applies it within the hour"
                + ("." if ctx.args.apply else "; --apply does it now."))
    ctx.out(f"Keep captures: {keep}")
    used = format_bytes(usage.used_bytes)
    if policy.budget_bytes:
        used += f" of {budget} ({100 * usage.used_bytes / policy.budget_bytes:.0f}%)"
    ctx.out(f"Disk budget:   {budget}")
    ctx.out(f"Data:          {used}; screenshots {format_bytes(usage.image_bytes)}; "
            f"database file {format_bytes(usage.file_bytes)}"
            + (f" ({format_bytes(usage.free_bytes)} free inside)"
               if usage.free_bytes > retention.MB else ""))
    if usage.backups_bytes or usage.models_bytes:
        ctx.out(f"Also:          backups {format_bytes(usage.backups_bytes)}, models "
                f"{format_bytes(usage.models_bytes)} (not in the budget)")
    for source, n in sorted(usage.items.items(), key=lambda kv: -kv[1]):
        oldest = usage.oldest.get(source)
        ctx.out(f"  {source:<8} {n:>10,}" + (f"  since {timefmt.full_date(oldest)}" if oldest else ""))
    if report is not None:
        ctx.out(f"Done:          {report.describe()}")
    elif would.total:
        ctx.out(f"Past keeping:  {would.expired:,} by age, about {would.over_budget:,} over "
                "the budget" + ("" if ctx.args.apply else " — `engram retention --apply` "
                                                          "forgets them now"))
    elif policy.active:
        ctx.out("Past keeping:  nothing")
    if not would.budget_reachable:
        ctx.out("Note: even without every capture that expires the data is over the budget, "
                "so none is forgotten for it; choose a larger budget or more --sources.")
    return 0
