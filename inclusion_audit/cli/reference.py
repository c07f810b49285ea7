"""``inclusion-audit reference …``: the areas and Census figures the tool ships."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

import click

from inclusion_audit.cli.app import CONTEXT, cli, handle_errors


@cli.group(context_settings=CONTEXT)
def reference() -> None:
    """Census 2021 reference data shipped with the tool: areas and their populations.

    \b
    Examples:
      inclusion-audit reference areas --type ltla
      inclusion-audit reference show Lambeth --eligible-age 16+
      inclusion-audit reference show "Tower Hamlets" --format csv > population.csv
    """


@reference.command("areas", context_settings=CONTEXT)
@click.option(
    "--type",
    "types",
    multiple=True,
    help="Only areas of this type: country, region, ltla, ltla23, ward, lgd (repeatable).",
)
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table"
)
@handle_errors
def reference_areas(types: tuple[str, ...], output_format: str) -> None:
    """List every area with its code, name, type and population (all usual residents)."""
    from inclusion_audit.reference import census

    rows = [
        {"code": a.code, "name": a.name, "type": a.type, "population": a.population}
        for a in census.list_areas(list(types) or None)
    ]
    emit_rows(rows, output_format, ["code", "name", "type", "population"])


@reference.command("show", context_settings=CONTEXT)
@click.argument("areas", nargs=-1, required=True)
@click.option(
    "--characteristic",
    "characteristics",
    multiple=True,
    help="Only this characteristic (repeatable). Default: every one the area has. "
    "imd_decile (residents by deprivation decile) and ward (residents by ward) are shown "
    "only when asked for.",
)
@click.option("--eligible-age", metavar="SPEC", help="Population base: 16+, 18+, 16-24, all…")
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table"
)
@handle_errors
def reference_show(
    areas: tuple[str, ...],
    characteristics: tuple[str, ...],
    eligible_age: str | None,
    output_format: str,
) -> None:
    """Show the Census 2021 population of AREA (a code or name; several add up).

    The csv format writes characteristic,category,count: a file ready for
    `audit --reference` that can be edited first.
    """
    from inclusion_audit.reference import census, geography

    found = census.resolve_areas(areas)
    age = census.parse_age_range(eligible_age) if eligible_age is not None else None
    known = [*census.known_characteristics(), *geography.PLACES]
    unknown = [c for c in characteristics if c not in known]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} is not a Census characteristic; choose from {', '.join(known)}.",
            param_hint="--characteristic",
        )
    profiles: list[Any] = []
    missing = []
    places = None
    for name in characteristics or census.available_characteristics(found):
        if name in geography.PLACES:
            places = places or geography.place_reference(found, age, "")
            place = places.deprivation if name == geography.DEPRIVATION else places.wards
            if isinstance(place, geography.NotAvailable):
                missing.append({"name": name, "reason": place.reason})
            else:
                profiles.append(place)
            continue
        try:
            profiles.append(census.census_profile(found, name, age))
        except census.CharacteristicNotAvailableError as error:
            missing.append({"name": name, "reason": error.reason})
    if output_format == "json":
        document = {
            "areas": [{"code": a.code, "name": a.name} for a in found],
            "characteristics": [
                {
                    "name": p.name,
                    "base": p.base,
                    "universe": p.universe,
                    "table": p.table,
                    "unit": p.unit,
                    "categories": [{"category": c, "count": n} for c, n in p.categories.items()],
                    "not_answered": p.not_answered,
                    "caveats": list(p.caveats),
                }
                for p in profiles
            ],
            "not_available": missing,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    rows = [
        {"characteristic": p.name, "category": c, "count": _number(n)}
        for p in profiles
        for c, n in p.categories.items()
    ]
    if output_format == "csv":
        emit_rows(rows, "csv", ["characteristic", "category", "count"])
        return
    click.echo(", ".join(f"{a.name} ({a.code})" for a in found))
    for profile in profiles:
        total = sum(profile.categories.values())
        click.echo(f"\n{profile.name}: {profile.base}")
        width = max(len(c) for c in profile.categories)
        for category, count in profile.categories.items():
            share = count / total if total else 0.0
            click.echo(f"  {category:<{width}}  {count:>12,.0f}  {share:6.1%}")
        if profile.not_answered is not None:
            click.echo(f"  (not answered: {profile.not_answered:,.0f}, not in the shares)")
        for caveat in profile.caveats:
            click.echo(f"  note: {caveat}")
    for item in missing:
        click.echo(f"\n{item['name']}: not available ({item['reason']})")


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def emit_rows(rows: list[dict[str, Any]], output_format: str, columns: list[str]) -> None:
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif output_format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        widths = {c: max([len(c), *(len(_cell(r[c])) for r in rows)]) for c in columns}
        click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
        for row in rows:
            click.echo("  ".join(_cell(row[c]).ljust(widths[c]) for c in columns).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) else str(value)
