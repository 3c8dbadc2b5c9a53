"""What one records part of a package spends per page, per line and per character.

Run from the project root:

    .venv/bin/python benchmarks/records_part_costs.py [--rows 2400] [--rounds 3]

The script makes ``--rows`` rows of the benchmark's shapes (every field; times with
microseconds in UTC and America/Los_Angeles; phone and email targets; IPv4 and full
IPv6 sources), lays them out as the renderer does (``RecordLayout.page_text``, the
records template), and times in this one warm process, in CPU seconds, WeasyPrint's
layout (``_laid_out``) and ``write_pdf`` of the same pages holding:

- ``real``: the records;
- ``one_char_lines``: as many lines of one character as a records page has;
- ``one_line``: one line of one character;
- ``lines_joined``: the records with each row's two lines joined into one.

The differences give a page's cost before any text, a line's, and a character's.
Prints one JSON object (the best of ``--rounds`` for each).
"""

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from legalops.disclosures import render_part
from legalops.disclosures.record_lines import ROWS_PER_PAGE, RecordLayout

FIELDS = ["occurred_at", "service", "source", "target", "source_ip", "client", "target_reachable"]
START = datetime(2026, 10, 2, tzinfo=UTC)


def rows_make(count: int) -> list[dict[str, Any]]:
    pick = random.Random(5)
    rows = []
    for i in range(count):
        moment = START + timedelta(seconds=i * 37, microseconds=pick.randrange(10**6))
        rows.append(
            {
                "n": i + 1,
                "utc": moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC"),
                "local": (moment - timedelta(hours=7)).strftime("%Y-%m-%d %H:%M:%S.%f -0700"),
                "service": pick.choice(["imessage", "facetime"]),
                "source": "+14155550100",
                "target": pick.choice(
                    [
                        f"+1415555{pick.randrange(10000):04d}",
                        f"someone{pick.randrange(999)}@example.com",
                        "+4915709535639",
                    ]
                ),
                "source_ip": pick.choice(
                    [f"198.51.100.{pick.randrange(250)}", "2001:db8:85a3::8a2e:370:7334"]
                ),
                "client": pick.choice(["iPhone15,2 iOS 18.1", "MacBookAir10,1 macOS 14.7"]),
                "target_reachable": pick.random() < 0.5,
                "third_party": False,
            }
        )
    return rows


def page_texts(rows: list[dict[str, Any]]) -> list[str]:
    layout = RecordLayout(
        fields=FIELDS, tz_label="America/Los_Angeles", row_count=len(rows), has_third_party=False
    )
    return [
        layout.page_text(request_number="LR-BENCH", first_row=start + 1, rows=rows[start:end])
        for start, end in (
            (start, min(start + ROWS_PER_PAGE, len(rows)))
            for start in range(0, len(rows), ROWS_PER_PAGE)
        )
    ]


def measure(texts: list[str], rounds: int) -> dict[str, float]:
    from legalops.disclosures.fetcher import AssetOnlyFetcher
    from legalops.disclosures.render import _laid_out, _render_html

    html = _render_html(
        "pdf/package_records.html",
        {
            "request": {"number": "LR-BENCH"},
            "bates_prefix": "BENCH",
            "first_page": 3,
            "total_pages": len(texts) + 4,
            "pages": texts,
        },
    )
    layout_s, write_s = [], []
    for _ in range(rounds + 1):  # the first round warms fonts and caches
        start = time.process_time()
        document = _laid_out(html, AssetOnlyFetcher())
        middle = time.process_time()
        document.write_pdf()
        layout_s.append(middle - start)
        write_s.append(time.process_time() - middle)
    return {"layout_s": round(min(layout_s[1:]), 3), "write_s": round(min(write_s[1:]), 3)}


def joined(text: str) -> str:
    lines = text.split("\n")
    head, body = lines[:6], lines[6:]
    return "\n".join(head + [a + "\t" + b for a, b in zip(body[0::2], body[1::2], strict=False)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    render_part._configure_templates()
    real = page_texts(rows_make(args.rows))
    lines_per_page = real[0].count("\n") + 1
    variants = {
        "real": real,
        "one_char_lines": ["\n".join("x" for _ in range(lines_per_page))] * len(real),
        "one_line": ["x"] * len(real),
        "lines_joined": [joined(text) for text in real],
    }
    figures = {name: measure(texts, args.rounds) for name, texts in variants.items()}
    pages = len(real)
    lines = sum(text.count("\n") + 1 for text in real)
    chars = sum(len(text.replace("\n", "")) for text in real)
    one, many, full = figures["one_line"], figures["one_char_lines"], figures["real"]
    extra_lines = (lines_per_page - 1) * pages
    glyphs = chars - lines  # beyond the one-character lines
    print(
        json.dumps(
            {
                "benchmark": "records_part_costs",
                "rows": args.rows,
                "pages": pages,
                "lines": lines,
                "characters": chars,
                "tabs": sum(text.count("\t") for text in real),
                "cpu_s": figures,
                "per_page_ms": round((one["layout_s"] + one["write_s"]) / pages * 1000, 2),
                "per_line_ms": {
                    "layout": round((many["layout_s"] - one["layout_s"]) / extra_lines * 1000, 3),
                    "write": round((many["write_s"] - one["write_s"]) / extra_lines * 1000, 3),
                },
                "per_character_us": {
                    "layout": round((full["layout_s"] - many["layout_s"]) / glyphs * 1e6, 2),
                    "write": round((full["write_s"] - many["write_s"]) / glyphs * 1e6, 2),
                },
                "per_row_ms": round((full["layout_s"] + full["write_s"]) / args.rows * 1000, 3),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
