"""``index.html``: a static gallery of an export, to look at what a try-on model will get.

Per photo: the photo, the overlay (``<stem>/overlay.png``), the CIHP parse map
(``parse/<stem>.png``) and each grouped garment's cut-out with its class, score, category,
parts and attributes (with the instance each came from); accessories and the count of
unattached parts. Plain HTML and CSS: no script, no server, no network; every link is relative
to the output folder and only files that exist are linked (the photo is linked where it lies,
not copied: keep it there, or re-run with ``--resume --html`` after moving both).
"""
import html
import json
import os
import os.path as osp
from urllib.parse import quote

STYLE = """body{font-family:sans-serif;margin:1em;background:#fafafa}
section{background:#fff;border:1px solid #ddd;margin:0 0 1em;padding:.5em 1em}
.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
figure{margin:0}figure img{max-height:320px;max-width:320px;border:1px solid #ccc}
.garment img{max-height:200px;max-width:200px;background:#e8e8e8}
.garment{max-width:360px}small{color:#555}"""


def _src(out_dir, path):
    """A relative, URL-quoted link from ``out_dir`` to ``path`` (None if it does not exist)."""
    full = path if osp.isabs(path) else osp.join(out_dir, path)
    if not osp.isfile(full):
        return None
    rel = osp.relpath(osp.abspath(full), osp.abspath(out_dir))
    return quote(rel.replace(os.sep, '/'))


def _figure(src, caption):
    if src is None:
        return ''
    return (f'<figure><a href="{src}"><img src="{src}" alt="{html.escape(caption)}"></a>'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')


def _garment(out_dir, g):
    attrs = ', '.join(f'{a["name"]} ({a["score"]:.2f}, from {a["source_class"].split(",")[0]} '
                      f'#{a["source"]})' if a.get('score') is not None else a['name']
                      for a in g['attributes'])
    parts = ', '.join(f'{p["class_name"].split(",")[0]} #{p["id"]}' for p in g['parts'])
    src = _src(out_dir, g['cutout_file']) if g.get('cutout_file') else None
    img = f'<img src="{src}" alt="{html.escape(g["class_name"])}">' if src else ''
    return (f'<div class="garment">{img}<div><b>{html.escape(g["class_name"])}</b> '
            f'{g["score"]:.2f} <small>#{g["id"]}, {html.escape(str(g["category"]))}</small></div>'
            f'<div><small>parts: {html.escape(parts or "none")}</small></div>'
            f'<div><small>attributes: {html.escape(attrs or "none")}</small></div></div>')


def image_section(out_dir, record):
    """The HTML of one photo from its ``garments/<stem>.json`` record."""
    stem = record['stem']
    figures = [
        _figure(_src(out_dir, record.get('image_file', record['image'])), 'photo'),
        _figure(_src(out_dir, f'{stem}/overlay.png'), 'overlay'),
        _figure(_src(out_dir, f'parse/{stem}.png'), 'parse map (CIHP)')
    ]
    garments = ''.join(_garment(out_dir, g) for g in record['garments'])
    acc = ', '.join(f'{a["class_name"].split(",")[0]} {a["score"]:.2f}'
                    for a in record['accessories'])
    return (f'<section id="{html.escape(quote(stem))}"><h2>{html.escape(stem)}</h2>'
            f'<div class="row">{"".join(figures)}</div>'
            f'<h3>{len(record["garments"])} garment(s)</h3><div class="row">{garments}</div>'
            f'<p><small>accessories: {html.escape(acc or "none")}; unattached parts: '
            f'{record["num_unattached_parts"]}</small></p></section>')


def write_gallery(out_dir, stems, title='Try-on export'):
    """Write ``<out_dir>/index.html`` for the photos ``stems`` (those with a
    ``garments/<stem>.json``; others are left out); returns its path."""
    sections = []
    for stem in stems:
        path = osp.join(out_dir, 'garments', f'{stem}.json')
        if osp.isfile(path):
            with open(path) as f:
                sections.append(image_section(out_dir, json.load(f)))
    page = (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}'
            f'</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>'
            f'<p>{len(sections)} photo(s)</p>\n' + '\n'.join(sections) + '\n</body></html>\n')
    out = osp.join(out_dir, 'index.html')
    with open(out, 'w') as f:
        f.write(page)
    return out
