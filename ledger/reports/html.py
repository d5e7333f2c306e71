"""Statements and transparency reports as one self-contained HTML file each.

Inline CSS and inline SVG bar charts drawn here: the page loads nothing from the network.
Every text is escaped; amounts are shown to the cent with a note that the ledger keeps
them to 9 decimal places (floats only size the bars); counts have thousands separators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape

from ledger.matching.rules import OUTCOMES
from ledger.reports.display import SUB_CENT_NOTE, count, label, money
from ledger.reports.series import sum_by
from ledger.reports.statement import rate as statement_rate

OUTCOME_COLORS = {"accrued": "#2f855a", "unmatched": "#a0aec0", "unlicensed": "#dd6b20",
                  "opted_out": "#c53030", "unpriced": "#d69e2e"}
PALETTE = ("#2b6cb0", "#38a169", "#d69e2e", "#805ad5", "#c53030", "#319795")

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#1a202c;font:15px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",sans-serif}
main{max-width:1100px;margin:0 auto;padding:32px 28px 48px}
header{border-bottom:1px solid #dfe3e8;margin-bottom:24px;padding-bottom:16px}
h1{font-size:26px;margin:0 0 4px;font-weight:650;letter-spacing:-.01em}
h2{font-size:17px;margin:32px 0 12px;font-weight:650}
.sub{color:#4a5568;margin:0}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;
margin:20px 0 8px}
.figures.wide{grid-template-columns:repeat(auto-fit,minmax(240px,1fr))}
.figure{background:#fff;border:1px solid #dfe3e8;border-radius:10px;padding:14px 16px}
.figure .label{color:#4a5568;font-size:12px;text-transform:uppercase;letter-spacing:.06em}
.figure .value{font-size:20px;font-weight:650;font-variant-numeric:tabular-nums;
overflow-wrap:anywhere}
.figure.key{background:#1a365d;border-color:#1a365d;color:#fff}
.figure.key .label{color:#bee3f8}
.note{color:#4a5568;font-size:13.5px;max-width:80ch}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
.chart{background:#fff;border:1px solid #dfe3e8;border-radius:10px;padding:14px 16px}
.chart h3{font-size:14px;margin:0 0 8px;font-weight:600}
.chart svg{width:100%;height:auto;display:block;font:12px system-ui,"Liberation Sans",sans-serif}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:#4a5568;margin:0 0 6px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dfe3e8;
font-size:13.5px}
th,td{padding:6px 10px;text-align:left;border-bottom:1px solid #edf0f3;vertical-align:top}
th{background:#edf2f7;font-weight:600;font-size:12.5px;color:#2d3748}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#fafbfc}
tr.neg td{color:#9b2c2c}
tfoot td{font-weight:650;background:#edf2f7}
.empty{color:#718096;font-style:italic}
footer{margin-top:36px;color:#718096;font-size:12px}
"""


def text(value: object) -> str:
    """A value as the ledger holds it: decimals in full, never via float."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"  # counts: 1,234,567
    return str(value)


# ---- the chart helper -------------------------------------------------------------------

@dataclass
class Bar:
    label: str
    values: Sequence[float | int | Decimal]  # one per series
    note: str  # what is printed at the bar's end (exact)
    color: str | None = None  # overrides the series colour (single-series charts)
    notes: Sequence[str] = ()  # side by side (not stacked): one per series, as shown


def bar_chart(title: str, bars: Sequence[Bar], series: Sequence[str] = ("",),
              colors: Sequence[str] = PALETTE, stacked: bool = True) -> str:
    """A horizontal bar chart (stacked or grouped series; negatives extend left of 0)."""
    if not bars:
        return (f'<div class="chart"><h3>{escape(title)}</h3>'
                f'<p class="empty">Nothing to show.</p></div>')
    label_w, area, note_w, gap = 150, 300, 130, 6
    per_bar = 1 if stacked else len(series)
    thick = 16 if per_bar == 1 else 13
    row = thick * per_bar + gap + 4
    width, height = label_w + area + note_w, row * len(bars) + 8
    totals = [[float(v) for v in bar.values] for bar in bars]
    spans = [sum(v) for v in totals] if stacked else [x for v in totals for x in v]
    lo, hi = min(0.0, *spans), max(0.0, *spans)
    scale = area / ((hi - lo) or 1.0)
    zero = label_w + (-lo) * scale
    out = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>",
           f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height}" stroke="#cbd5e0"/>']
    for index, (bar, values) in enumerate(zip(bars, totals, strict=True)):
        top = 4 + index * row
        label = bar.label if len(bar.label) <= 22 else bar.label[:21] + "…"
        out.append(f'<text x="{label_w - 8}" y="{top + row / 2 - 2:.1f}" text-anchor="end" '
                   f'dominant-baseline="middle" fill="#2d3748"><title>{escape(bar.label)}'
                   f"</title>{escape(label)}</text>")
        right = left = zero
        for position, value in enumerate(values):
            length = abs(value) * scale
            y = top + (0 if stacked else position * thick)
            if value >= 0:
                x = right if stacked else zero
                right = x + length if stacked else max(right, x + length)
            else:
                x = (left if stacked else zero) - length
                left = min(left, x)
            color = bar.color or colors[position % len(colors)]
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{max(length, 0.5):.1f}" '
                       f'height="{thick - 1}" rx="2" fill="{color}"><title>'
                       f"{escape(series[position] or bar.label)}: {escape(text(bar.values[position]))}"
                       f"</title></rect>")
        notes = [(bar.note, top + row / 2 - 2)] if stacked else [
            (bar.notes[i] if bar.notes else text(v), top + i * thick + thick / 2)
            for i, v in enumerate(bar.values)]
        for note, y in notes:
            out.append(f'<text x="{label_w + area + 8}" y="{y:.1f}" dominant-baseline="middle" '
                       f'fill="#1a202c" font-size="{11 if stacked else 10}">{escape(note)}</text>')
    out.append("</svg>")
    legend = ""
    if len(series) > 1:
        legend = '<div class="legend">' + "".join(
            f'<span><i style="background:{colors[i % len(colors)]}"></i>{escape(name)}</span>'
            for i, name in enumerate(series)) + "</div>"
    return f'<div class="chart"><h3>{escape(title)}</h3>{legend}{"".join(out)}</div>'


# ---- page pieces -------------------------------------------------------------------------

def _page(title: str, body: str) -> str:
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{body}<footer>Generated by royalty-ledger on {made}. Amounts are "
            f"exact decimals in the ledger, shown here to the cent.</footer></main></body>"
            f"</html>\n")


def _figures(items: Sequence[tuple[str, object]], key: int = 0, wide: bool = False) -> str:
    return f'<section class="figures{" wide" if wide else ""}">' + "".join(
        f'<div class="figure{" key" if i == key else ""}"><div class="label">{escape(label)}'
        f'</div><div class="value">{escape(text(value))}</div></div>'
        for i, (label, value) in enumerate(items)) + "</section>"


def _table(columns: Sequence[tuple[str, str]], rows: Sequence[dict],
           numeric: Sequence[str] = (), footer: dict | None = None,
           negative: str | None = None) -> str:
    if not rows:
        return '<p class="empty">Nothing in this report.</p>'

    def cells(row: dict, tag: str) -> str:
        return "".join(f'<{tag}{" class=n" if key in numeric else ""}>'
                       f"{escape(text(row.get(key)))}</{tag}>" for key, _ in columns)

    head = "".join(f'<th{" class=n" if key in numeric else ""}>{escape(name)}</th>'
                   for key, name in columns)
    body = "".join(
        f'<tr{" class=neg" if negative and (row.get(negative) or 0) < 0 else ""}>'
        f"{cells(row, 'td')}</tr>" for row in rows)
    foot = f"<tfoot><tr>{cells(footer, 'td')}</tr></tfoot>" if footer else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>"


def _money_bars(totals: dict, currency: str, limit: int = 12) -> list[Bar]:
    items = sorted(totals.items(), key=lambda kv: (-kv[1], text(kv[0])))[:limit]
    return [Bar(label(text(k)), [v], f"{money(v, currency)} {currency}") for k, v in items]


# ---- the statement -------------------------------------------------------------------------

def _period_name(period: str | None) -> str:
    if period is None:
        return "All time"
    return datetime.strptime(period, "%Y-%m").strftime("%B %Y")


def statement_html(data: dict, series: dict | None = None, name: str | None = None,
                   details: dict | None = None) -> str:
    """The creator's statement as a page: ``data`` as ``statement.statement`` returns it
    (decimals, not JSON strings), ``series`` from ``series.statement_series``, ``details``
    from ``statement.readers_details`` (titles, payouts)."""
    series, details = series or {}, details or {}
    titles = details.get("titles", {})
    currency, lines = data["currency"], data["lines"]
    who = f"{name} ({data['creator']})" if name and name != data["creator"] else data["creator"]
    period = _period_name(data["period"])
    charts = [
        bar_chart("Earnings by usage month", [
            Bar(label(k), [v], f"{money(v, currency)} {currency}")
            for k, v in sorted(sum_by(lines, "usage_period").items(),
                               key=lambda kv: text(kv[0]))]),
        bar_chart("Earnings by licensee", _money_bars(sum_by(lines, "licensee"), currency)),
        bar_chart("Earnings by model", _money_bars(sum_by(lines, "model"), currency)),
        bar_chart("Earnings by work (top 12)", _money_bars(sum_by(lines, "work"), currency)),
    ]
    if series.get("ledger_by_month"):
        charts.append(bar_chart(
            f"Booked and paid by booking month, all time ({currency})",
            [Bar(r["month"], [r["accrued"], r["paid"]], f"+{money(r['accrued'], currency)} / "
                 f"−{money(r['paid'], currency)}",
                 notes=(money(r["accrued"], currency), money(r["paid"], currency)))
             for r in series["ledger_by_month"]],
            series=("accrued", "paid"), colors=("#2f855a", "#2b6cb0"), stacked=False))
    rows = [{**line, "title": titles.get(line["work"], ""),
             "licensee": label(line["licensee"]), "model": label(line["model"]),
             "events": count(line["events"]),
             "quantity": f"{count(line['quantity'])} {text(line['unit'])}".strip(),
             "rate": "" if (r := statement_rate(line)) is None else
             f"{text(r)} {currency}/{text(line['unit'])}",
             "amount": money(line["amount"], currency), "negative": line["amount"],
             "match": line.get("match") or ""}
            for line in lines]
    # contract §8: how the events were matched, when any line was not matched exactly
    matched = [("match", "Matched")] if any(
        line.get("match") not in (None, "exact") for line in lines) else []
    columns = [("work", "Work"), ("title", "Title"), ("licensee", "Licensee"),
               ("model", "Model"), ("purpose", "Purpose"), *matched,
               ("usage_period", "Used in"), ("events", "Events"), ("quantity", "Quantity"),
               ("rate", "Your rate"), ("amount", f"Amount ({currency})")]
    footer = {"work": "Total accrued", "amount": money(data["accrued"], currency)}
    booked = sum(line["events"] for line in lines if line["events"] > 0)
    reversed_ = -sum(line["events"] for line in lines if line["events"] < 0)
    payouts = [{**p, "date": f"{p['date']:%Y-%m-%d}", "amount": money(p["amount"], currency),
                "transfer": p["transfer"] or ""} for p in details.get("payouts", [])]
    body = (
        f"<header><h1>Royalty statement — {escape(who)}</h1>"
        f'<p class="sub">{escape(period)} · amounts booked in {escape(currency)} · '
        f"{count(booked)} events booked" + (f", {count(reversed_)} reversed" if reversed_ else "")
        + f" · {count(len({line['work'] for line in lines if line['work']}))} works</p></header>"
        + _figures([(f"Closing balance ({currency})", money(data["closing_balance"], currency)),
                    ("Opening balance", money(data["opening_balance"], currency)),
                    ("Accrued", money(data["accrued"], currency)),
                    ("Paid", money(data["paid"], currency))],
                   wide=True)
        + '<p class="note">Amounts are what the ledger booked in this period; "Used in" is '
          "the month the content was used. Negative lines reverse amounts booked in an "
          "earlier period, after a re-evaluation (a new license, price or split); the "
          "re-evaluated amount appears on its own line. Closing = opening + accrued − paid. "
          "Your rate is your part per unit: amount = quantity × rate. "
          + escape(SUB_CENT_NOTE) + "</p>"
        + '<h2>Charts</h2><section class="charts">' + "".join(charts) + "</section>"
        + "<h2>Payouts</h2>"
        + _table([("date", "Date"), ("amount", f"Amount ({currency})"), ("status", "Status"),
                  ("transfer", "Transfer")], payouts, numeric=("amount",))
        + "<h2>Lines</h2>"
        + _table(columns, rows, numeric=("events", "quantity", "rate", "amount"),
                 footer=footer, negative="negative"))
    return _page(f"Statement {data['creator']} {period}", body)


# ---- the transparency report ----------------------------------------------------------------

def transparency_html(data: dict, series: dict | None = None) -> str:
    """The transparency report (``usage_reports.transparency``) as a page."""
    series = series or {}
    outcomes = data["outcomes"]
    scope = f"model {data['model']}" if data["model"] else "all models"
    events = data["events"] or 0
    charts = [
        bar_chart("Events by outcome", [
            Bar(name, [n], f"{n:,} ({100 * n / events:.1f}%)" if events else "0",
                color=OUTCOME_COLORS[name])
            for name, n in outcomes.items()]),
        bar_chart("Events by usage month and outcome", [
            Bar(r["month"], [r[o] for o in OUTCOMES], f"{sum(r[o] for o in OUTCOMES):,}")
            for r in series.get("by_month", [])],
            series=OUTCOMES, colors=[OUTCOME_COLORS[o] for o in OUTCOMES]),
        bar_chart("Events by purpose", [Bar(k, [v], f"{v:,}")
                                        for k, v in data["by_purpose"].items()]),
        bar_chart("Events by dataset", [Bar(label(k), [v], f"{v:,}")
                                        for k, v in data["by_dataset"].items()]),
    ]
    if not data["model"] and series.get("by_model"):
        charts.append(bar_chart("Events by model (licensed / other)", [
            Bar(label(r["model"]), [r["accrued"], r["events"] - r["accrued"]],
                f"{r['events']:,}") for r in series["by_model"]], series=("accrued", "other outcomes"),
            colors=(OUTCOME_COLORS["accrued"], "#a0aec0")))
    if series.get("top_works"):
        charts.append(bar_chart("Most used registered works (licensed / other)", [
            Bar(r["work"], [r["accrued"], r["events"] - r["accrued"]], f"{r['events']:,}")
            for r in series["top_works"]], series=("accrued", "other outcomes"),
            colors=(OUTCOME_COLORS["accrued"], "#a0aec0")))
    owed = series.get("owed_by_month", [])
    for currency in sorted({r["currency"] for r in owed}):
        charts.append(bar_chart(f"Royalties owed by usage month ({currency}, gross)", [
            Bar(r["month"], [r["gross"]], f"{money(r['gross'], currency)} {currency}")
            for r in owed if r["currency"] == currency]))
    unlicensed = outcomes["unlicensed"] + outcomes["opted_out"] + outcomes["unpriced"]
    body = (
        f"<header><h1>Transparency report — {escape(data['licensee'])}</h1>"
        f'<p class="sub">{escape(scope)} · every usage event reported, and what became of it'
        f"</p></header>"
        + _figures([("Events", events), ("Registered works", data["works"]),
                    ("Creators", data["creators"]), ("Licensed (accrued)", outcomes["accrued"]),
                    ("Unmatched", outcomes["unmatched"]),
                    ("Unlicensed, opted out, unpriced", unlicensed)])
        + '<p class="note">Accrued uses are covered by a license and paid to creators; '
          "unmatched items match no registered work yet (held in suspense); unlicensed, "
          "opted-out and unpriced uses are matched works with no license that prices them.</p>"
        + '<h2>Charts</h2><section class="charts">' + "".join(charts) + "</section>"
        + "<h2>Outcomes</h2>"
        + _table([("outcome", "Outcome"), ("events", "Events")],
                 [{"outcome": k, "events": v} for k, v in outcomes.items()], numeric=("events",))
        + "<h2>Most used registered works</h2>"
        + _table([("work", "Work"), ("title", "Title"), ("events", "Events"),
                  ("accrued", "Licensed")], series.get("top_works", []),
                 numeric=("events", "accrued"))
        + "<h2>Royalties owed by usage month</h2>"
        + _table([("month", "Used in"), ("currency", "Currency"), ("events", "Events"),
                  ("gross", "Gross"), ("net", "To creators")],
                 [{**r, "gross": money(r["gross"], r["currency"]),
                   "net": money(r["net"], r["currency"])} for r in owed],
                 numeric=("events", "gross", "net"))
        + _deals(data)
        + f'<p class="note">{escape(SUB_CENT_NOTE)}</p>')
    return _page(f"Transparency {data['licensee']} {scope}", body)


def _deals(data: dict) -> str:
    """Pool and revenue-share uses (contract §9): those awaiting their period's close, and
    what closed periods allocated."""
    awaiting = data.get("awaiting_allocation") or {"events": 0}
    allocated = data.get("allocated") or {}
    if not awaiting["events"] and not allocated:
        return ""
    return (
        "<h2>Pools and revenue shares</h2>"
        f'<p class="note">{awaiting["events"]:,} accrued uses await allocation: their '
        "period (of a pool or revenue-share license) has not closed yet; their amounts come "
        "when it closes.</p>"
        + _table([("currency", "Currency"), ("events", "Uses allocated"), ("gross", "Gross"),
                  ("net", "To creators")],
                 [{"currency": c, "events": v["events"], "gross": money(v["gross"], c),
                   "net": money(v["net"], c)} for c, v in sorted(allocated.items())],
                 numeric=("events", "gross", "net")))
