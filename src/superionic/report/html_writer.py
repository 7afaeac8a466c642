"""The report's document model (sections of blocks) and its rendering to one HTML file.

Self-contained: the CSS is inline and every figure is a ``data:image/png;base64`` URI, so the
file opens anywhere without network access or the PNGs beside it. Text is escaped; text
between backticks becomes ``<code>``.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field

CSS = """
body{font-family:"DejaVu Sans","Liberation Sans",Arial,Helvetica,sans-serif;margin:0;
  color:#222;background:#fafafa;line-height:1.45}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 24px}
header{padding-top:18px}
h1{font-size:1.6em;margin:0.2em 0}
h2{font-size:1.25em;border-bottom:2px solid #3366aa;padding-bottom:3px;margin-top:1.6em}
h3{font-size:1.05em;margin:1.2em 0 0.4em}
nav a{margin-right:14px;font-size:0.9em;color:#3366aa}
section{background:white;border:1px solid #e3e3e3;border-radius:6px;padding:4px 18px 14px;
  margin:18px 0}
figure{margin:10px 0;display:inline-block;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:0.85em;color:#555;max-width:900px}
.row{display:flex;flex-wrap:wrap;gap:16px}
.row figure{flex:1 1 460px}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;font-size:0.92em}
.problem{background:#fdecea;border-left:4px solid #c0392b;padding:6px 10px;font-size:0.9em}
code{background:#f0f0f0;padding:1px 4px;border-radius:3px;font-size:0.92em}
table{border-collapse:collapse;font-size:0.85em;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef2f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.yes{color:#c0392b;font-weight:bold}
ul.flags{font-size:0.85em;margin:4px 0}
details summary{cursor:pointer;color:#3366aa;margin:6px 0}
footer{font-size:0.8em;color:#555;padding-bottom:30px}
"""


@dataclass
class Paragraph:
    text: str


@dataclass
class Note:
    """A short 'not computed yet' style message."""

    text: str


@dataclass
class Problem:
    """Something in the data the reader should know is wrong or left out."""

    text: str


@dataclass
class Heading:
    text: str
    anchor: str = ""


@dataclass
class FigureBlock:
    name: str
    """File stem of the PNG written beside the report."""
    png: bytes
    caption: str
    alt: str = ""


@dataclass
class FigureRow:
    figures: list[FigureBlock]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)
    """Column indexes rendered right-aligned."""
    caption: str = ""


@dataclass
class BulletList:
    items: list[str]


@dataclass
class Details:
    """Blocks folded away behind a one-line summary (HTML <details>, no script)."""

    summary: str
    blocks: list


Block = Paragraph | Note | Problem | Heading | FigureBlock | FigureRow | Table | BulletList | Details


@dataclass
class Section:
    key: str
    title: str
    blocks: list = field(default_factory=list)

    def figures(self) -> list[FigureBlock]:
        out = []
        for block in self.blocks:
            if isinstance(block, FigureBlock):
                out.append(block)
            elif isinstance(block, FigureRow):
                out.extend(block.figures)
            elif isinstance(block, Details):
                out.extend(Section("", "", block.blocks).figures())
        return out


_CODE = re.compile(r"`([^`]+)`")


def text_html(text: str) -> str:
    """Escape ``text``; `backticked` parts become <code>."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(text, quote=False))


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _figure(fig: FigureBlock) -> str:
    width, height = png_size(fig.png)
    data = base64.b64encode(fig.png).decode("ascii")
    alt = html.escape(fig.alt or fig.caption, quote=True)
    return (f'<figure id="fig-{html.escape(fig.name, quote=True)}">'
            f'<img src="data:image/png;base64,{data}" alt="{alt}" width="{width}" '
            f'height="{height}" data-file="{html.escape(fig.name, quote=True)}.png">'
            f"<figcaption>{text_html(fig.caption)}</figcaption></figure>")


def _table(table: Table) -> str:
    head = "".join(f"<th>{text_html(h)}</th>" for h in table.headers)
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td class="num">{text_html(c)}</td>' if i in table.numeric else f"<td>{text_html(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    caption = f"<caption>{text_html(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_block(block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{text_html(block.text)}</p>"
    if isinstance(block, Note):
        return f'<p class="note">{text_html(block.text)}</p>'
    if isinstance(block, Problem):
        return f'<p class="problem">{text_html(block.text)}</p>'
    if isinstance(block, Heading):
        anchor = f' id="{html.escape(block.anchor, quote=True)}"' if block.anchor else ""
        return f"<h3{anchor}>{text_html(block.text)}</h3>"
    if isinstance(block, FigureBlock):
        return _figure(block)
    if isinstance(block, FigureRow):
        return '<div class="row">' + "".join(_figure(f) for f in block.figures) + "</div>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Details):
        inner = "".join(render_block(b) for b in block.blocks)
        return f"<details><summary>{text_html(block.summary)}</summary>{inner}</details>"
    if isinstance(block, BulletList):
        return '<ul class="flags">' + "".join(f"<li>{text_html(i)}</li>" for i in block.items) + "</ul>"
    raise TypeError(f"unknown report block {type(block).__name__}")


def render_html(title: str, subtitle: str, sections: list[Section], footer: list[str]) -> str:
    """The whole report as one HTML string."""
    nav = "".join(f'<a href="#{html.escape(s.key, quote=True)}">{text_html(s.title)}</a>'
                  for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{text_html(title)}</h1><p>{text_html(subtitle)}</p><nav>{nav}</nav></header>",
        "<main>",
    ]
    for section in sections:
        parts.append(f'<section id="{html.escape(section.key, quote=True)}">'
                     f"<h2>{text_html(section.title)}</h2>")
        parts.extend(render_block(b) for b in section.blocks)
        parts.append("</section>")
    parts.append("</main><footer><h2>Provenance</h2>")
    parts.extend(f"<p>{text_html(line)}</p>" for line in footer)
    parts.append("</footer></body></html>")
    return "\n".join(parts)
