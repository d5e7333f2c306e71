"""Statements and transparency reports as HTML: self-contained pages that a real browser
(headless Chromium) renders with the key figures in the page text."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger.reports.display import money
from ledger.reports.html import Bar, bar_chart, statement_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def render(page: Path, tmp_path: Path) -> tuple[str, Path]:
    """The page's DOM text after Chromium loaded it, and a full-page screenshot."""
    shot = page.with_suffix(".png")
    common = [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,1600",
                    page.as_uri()], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return dom, shot


def visible_text(dom: str) -> str:
    body = re.sub(r"<(style|title)[^>]*>.*?</\1>", " ", dom, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page


def cli_ok(cli, *args: str) -> str:
    result = cli(*args)
    assert result.code == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(Debian: apt-get install -y chromium)")
def test_pages_render_in_a_browser_with_their_key_figures(scenario, tmp_path) -> None:
    cli = scenario.cli
    month = scenario.months[2]
    data = json.loads(cli_ok(cli, "report", "statement", "--creator", "alice", "--period",
                             month, "--format", "json"))
    statement_page = tmp_path / "statement.html"
    assert cli_ok(cli, "report", "statement", "--creator", "alice", "--period", month,
                  "--format", "html", "--output", str(statement_page)) == ""
    assert_self_contained(statement_page.read_text())
    dom, shot = render(statement_page, tmp_path)
    text = visible_text(dom)
    assert f"Closing balance (USD) {money(data['closing_balance'], 'USD')}" in text
    for figure in (data["accrued"], data["paid"], data["opening_balance"]):
        assert money(figure, "USD") in text
    assert "w3" in text and "acme" in text and "video-2" in text
    negative = [x["amount"] for x in data["lines"] if x["amount"].startswith("-")]
    assert negative and all(money(amount, "USD") in text for amount in negative)
    assert "Sub-cent amounts are kept in the balance" in text
    assert shot.stat().st_size > 30_000

    transparency = json.loads(cli_ok(cli, "report", "transparency", "--licensee", "acme",
                                     "--format", "json"))
    page_text = cli_ok(cli, "report", "transparency", "--licensee", "acme", "--format", "html")
    assert_self_contained(page_text)  # without --output: the page on standard output
    transparency_page = tmp_path / "transparency.html"
    transparency_page.write_text(page_text, encoding="utf-8")
    dom, shot = render(transparency_page, tmp_path)
    text = visible_text(dom)
    assert "Transparency report — acme" in text
    assert re.search(rf"Events {transparency['events']:,}\b", text)
    assert re.search(rf"Registered works {transparency['works']}\b", text)
    assert re.search(rf"Creators {transparency['creators']}\b", text)
    assert "w2" in text and "video-2" in text and "text-1" in text
    assert shot.stat().st_size > 30_000


def test_text_is_escaped_and_amounts_are_shown_to_the_cent() -> None:
    evil = "<script>alert(1)</script>"
    page = statement_html({
        "creator": evil, "period": "2026-11", "currency": "USD",
        "opening_balance": "0.000000001", "accrued": "123456789012.123456789", "paid": "0",
        "closing_balance": "123456789012.123456790",
        "lines": [{"work": evil, "licensee": "a&b", "model": None, "purpose": "ai-train",
                   "usage_period": "2026-10", "events": 1, "quantity": "1000", "unit": "uses",
                   "amount": __import__("decimal").Decimal("123456789012.123456789")}]})
    assert "<script>" not in page and "&lt;script&gt;" in page and "a&amp;b" in page
    assert "123,456,789,012.12" in page and "0.00" in page
    # Exact only in a bar's tooltip, never in a cell or figure.
    assert ">123456789012.123456789<" not in page and "9 decimal places" in page


def test_bar_chart_draws_negatives_left_of_zero() -> None:
    svg = bar_chart("t", [Bar("up", [2], "2"), Bar("down", [-1], "-1")])
    zero = float(re.search(r'<line x1="([\d.]+)"', svg)[1])
    xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)"', svg)]
    assert xs[0] == pytest.approx(zero) and xs[1] < zero
