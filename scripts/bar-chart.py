#!/usr/bin/env python3
"""Draws a horizontal bar chart as SVG, for the benchmark scripts.

Reads rows "label<TAB>value<TAB>kind" from stdin (kind: weft, floor or peer;
it picks the colour) and writes the SVG to --out. Values are drawn to scale
from zero, each with its figure; shorter is better.

  printf 'weft\t42.9\tweft\nfloor\t94.0\tfloor\n' | scripts/bar-chart.py \
      --title "Redis lock: acquire + release" --subtitle "median, µs" --out docs/x.svg
"""
import argparse
import html
import math
import sys

COLOURS = {"weft": "#2e8b57", "floor": "#7f8c8d", "peer": "#d68910"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--title", required=True)
    parser.add_argument("--subtitle", default="")
    parser.add_argument("--unit", default="")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    rows = []
    for line in sys.stdin:
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 2 or not fields[0]:
            continue
        try:
            value = float(fields[1])
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            continue  # a measure the run could not take: left out of the picture
        rows.append((fields[0], value, fields[2] if len(fields) > 2 else "peer"))
    if not rows:
        print("bar-chart.py: no rows on stdin", file=sys.stderr)
        return 65  # EX_DATAERR

    width, left, right, top, bar, gap = 760, 330, 80, 58, 22, 10
    height = top + len(rows) * (bar + gap) + 34
    largest = max(value for _, value, _ in rows) or 1.0
    plot = width - left - right
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="12" y="22" font-size="15" font-weight="bold">{html.escape(args.title)}</text>',
        f'<text x="12" y="40" fill="#555">{html.escape(args.subtitle)}</text>',
    ]
    for i, (label, value, kind) in enumerate(rows):
        y = top + i * (bar + gap)
        length = max(1.0, plot * value / largest)
        weight = ' font-weight="bold"' if kind == "weft" else ""
        out.append(f'<text x="{left - 8}" y="{y + bar * 0.72:.1f}" text-anchor="end"{weight}>'
                   f'{html.escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" '
                   f'fill="{COLOURS.get(kind, COLOURS["peer"])}"/>')
        figure = f"{value:,.1f}".rstrip("0").rstrip(".") + (f" {args.unit}" if args.unit else "")
        out.append(f'<text x="{left + length + 5:.1f}" y="{y + bar * 0.72:.1f}">{html.escape(figure)}</text>')
    legend_y = top + len(rows) * (bar + gap) + 16
    x = 12
    for kind, name in (("weft", "weft"), ("floor", "raw client floor"), ("peer", "other clients")):
        out.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{COLOURS[kind]}"/>')
        out.append(f'<text x="{x + 17}" y="{legend_y}" fill="#555">{name}</text>')
        x += 30 + 8 * len(name)
    out.append("</svg>")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
