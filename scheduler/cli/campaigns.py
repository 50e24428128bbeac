"""`outreach campaign …` and `outreach campaigns`: start campaigns from their files, and steer
them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from scheduler.campaigns import Plan, add_leads, plan_view, start_campaign
from scheduler.steering import (
    campaign_lines,
    campaign_report,
    campaign_report_json,
    cancel_campaign,
    pause_campaign,
    resume_campaign,
)
from worker.runtime import get_runtime

campaign_app = typer.Typer(help="Start and steer campaigns.", no_args_is_help=True)


SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Import the valid rows; write each refused row, with its line and reason, to"
        " the rejects file (duplicates are skipped and counted).",
    ),
]
Rejects = Annotated[
    Path | None,
    typer.Option(help="Where --skip-invalid writes refused rows (default: REJECTS.csv beside"
                 " the leads file)."),
]  # fmt: skip
DryRun = Annotated[
    bool,
    typer.Option(help="Check and show the plan; write nothing to the database (refused rows"
                 " still go to the rejects file)."),
]  # fmt: skip
AsJson = Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")]


@campaign_app.command("start")
def start(
    campaign_file: Annotated[Path, typer.Argument(help="The campaign file (TOML).")],
    leads_file: Annotated[Path, typer.Argument(help="Recipients (CSV with a header).")],
    dry_run: DryRun = False,
    as_json: AsJson = False,
    skip_invalid: SkipInvalid = False,
    rejects: Rejects = None,
) -> None:
    """Check both files whole, then record and queue every step for every recipient."""
    runtime = get_runtime()
    with import_progress(leads_file, disable=as_json) as advance:
        plan = start_campaign(
            runtime, campaign_file, leads_file, dry_run=dry_run, progress=advance,
            skip_invalid=skip_invalid, rejects=rejects,
        )  # fmt: skip
    show_plan(plan, dry_run=dry_run, as_json=as_json)


@campaign_app.command("add-leads")
def add(
    name: Annotated[str, typer.Argument(help="The campaign.")],
    leads_file: Annotated[Path, typer.Argument(help="Recipients (CSV with a header).")],
    dry_run: DryRun = False,
    as_json: AsJson = False,
    skip_invalid: SkipInvalid = False,
    rejects: Rejects = None,
) -> None:
    """Add recipients to a running campaign: the same checks and steps as at its start, and
    nobody it already has or that outreach must not contact again."""
    runtime = get_runtime()
    with import_progress(leads_file, disable=as_json) as advance:
        plan = add_leads(
            runtime, name, leads_file, dry_run=dry_run, progress=advance,
            skip_invalid=skip_invalid, rejects=rejects,
        )  # fmt: skip
    show_plan(plan, dry_run=dry_run, as_json=as_json)


def show_plan(plan: Plan, *, dry_run: bool, as_json: bool) -> None:
    view = plan_view(plan, dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(view))
        return
    verb = "would queue" if dry_run else "queued"
    typer.echo(
        f"campaign {plan.campaign}: {plan.recipients} recipients, {verb} {plan.sends}"
        f" sends, {plan.skipped_count} skipped"
    )
    if plan.rejects_file is not None:
        typer.echo(
            f"  {plan.rejected} rows refused, written with their line and reason to"
            f" {plan.rejects_file}; {plan.duplicates} duplicate rows skipped"
        )
    for account, count in sorted(plan.per_account.items()):
        to, text = plan.samples[account]
        typer.echo(f"  {account}: {count} recipients; first message, to {to}:\n    {text}")
    for (step, name), count in sorted(plan.variants.items()):
        typer.echo(f"  step {step}, variant {name}: {count} recipients")
    for recipient, why in plan.skipped.items():
        typer.echo(f"  skipped {recipient}: {why}")
    if plan.skipped_count > len(plan.skipped):
        typer.echo(f"  … and {plan.skipped_count - len(plan.skipped)} more skipped")
    if plan.finish_estimate:
        typer.echo(f"  expected to finish around {plan.finish_estimate:%Y-%m-%d %H:%M} UTC")


class RateColumn(ProgressColumn):
    """Rows per second, as rich measures it over the last moments."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s")


@contextmanager
def import_progress(leads_file: Path, *, disable: bool) -> Iterator[Callable[[str, int], None]]:
    """A bar for the pass over the leads, with rows/s and the time left."""
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=disable) as progress:
        rows = None if disable else count_rows(leads_file)
        task = progress.add_task("importing recipients", total=rows)

        def advance(phase: str, count: int) -> None:
            progress.update(task, advance=count)

        yield advance


def count_rows(path: Path) -> int | None:
    """About how many rows the file has (a quoted cell over two lines counts twice)."""
    try:
        with path.open("rb") as raw:
            return max(
                sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 20), b"")) - 1, 0
            )
    except OSError:
        return None


@campaign_app.command("status")
def status(
    name: str, as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False
) -> None:
    """Counts per step and status, sends per account today, pauses, and the expected finish."""
    runtime = get_runtime()
    if as_json:
        typer.echo(json.dumps(campaign_report_json(runtime, name)))
        return
    report = campaign_report(runtime, name)
    estimate = f"{report.finish_estimate:%Y-%m-%d %H:%M} UTC" if report.finish_estimate else "-"
    typer.echo(f"campaign {report.name}: {report.status}; expected to finish {estimate}")
    table = Table("step", "status", "count")
    for step, counts in report.steps.items():
        for state, count in counts.items():
            table.add_row(str(step), state, str(count))
    Console().print(table)
    replies = Table("step", "sent", "replied after it", "reply rate")
    for after in report.replies:
        rate = _percent(after.reply_rate)
        replies.add_row(str(after.step), str(after.sent), str(after.replied), rate)
    Console().print(replies)
    typer.echo(f"replied: {report.replied} ({_percent(report.reply_rate)} of those contacted)")
    if report.variants:
        variants = Table("step", "variant", "sent", "replied after it", "reply rate")
        for variant in report.variants:
            variants.add_row(
                str(variant.step), variant.variant, str(variant.sent), str(variant.replied),
                _percent(variant.reply_rate),
            )  # fmt: skip
        Console().print(variants)
    accounts = Table(
        "account", "sent today", "still to send", "paused", "contacted", "replied", "rate"
    )
    for line in report.accounts:
        paused = line.pause_reason or "-"
        accounts.add_row(
            line.account,
            str(line.sent_today),
            str(line.pending),
            paused,
            str(line.contacted),
            str(line.replied),
            _percent(line.reply_rate),
        )
    Console().print(accounts)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


@campaign_app.command("pause")
def pause(name: str) -> None:
    """Hold every send of the campaign until it is resumed."""
    pause_campaign(get_runtime(), name)
    typer.echo(f"campaign {name} paused")


@campaign_app.command("resume")
def resume(name: str) -> None:
    """Let a paused campaign send again."""
    count = resume_campaign(get_runtime(), name)
    typer.echo(f"campaign {name} resumed ({count} deliveries queued)")


@campaign_app.command("cancel")
def cancel(name: str) -> None:
    """Stop a campaign for good: what is not sent yet is cancelled."""
    count = cancel_campaign(get_runtime(), name)
    typer.echo(f"campaign {name} cancelled ({count} deliveries cancelled)")


def campaigns(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every campaign with its progress."""
    table = Table("campaign", "status", "sent", "still to send", "other")
    for line in campaign_lines(get_runtime()):
        if as_json:
            typer.echo(json.dumps(line))
            continue
        other = ", ".join(f"{k} {v}" for k, v in sorted(line["other"].items())) or "-"
        table.add_row(
            line["campaign"], line["status"], str(line["sent"]), str(line["pending"]), other
        )
    if not as_json:
        Console().print(table)
