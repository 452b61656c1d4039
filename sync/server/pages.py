"""The HTML frame of the public pages: one file, inline CSS, no external assets, phone first."""

from __future__ import annotations

import html

CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.6 -apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",
sans-serif;color:#1f2328;background:#f3f5f8}
header{background:#b4232a;color:#fff;padding:14px 16px;font-size:18px;font-weight:600}
main{max-width:36rem;margin:0 auto;padding:16px}
section{background:#fff;border-radius:10px;padding:16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:20px;margin:0 0 12px}
label{display:block;margin:12px 0 4px;font-weight:600}
input{display:block;width:100%;margin-top:4px;padding:10px;font-size:17px;border:1px solid #c8ccd1;
border-radius:6px}
button{margin-top:16px;width:100%;padding:12px;font-size:17px;color:#fff;background:#b4232a;
border:0;border-radius:6px}
.notice{background:#fff4e5;border-left:4px solid #e8a33d;padding:8px 12px}
.status{font-size:18px;font-weight:600;color:#b4232a}
dl{display:grid;grid-template-columns:4.5em 1fr;gap:4px 12px;margin:12px 0}
dt{color:#57606a}dd{margin:0;overflow-wrap:anywhere}
ol.steps{list-style:none;padding:0;margin:16px 0;border-left:3px solid #b4232a}
ol.steps li{position:relative;padding:0 0 14px 16px}
ol.steps li:before{content:"";position:absolute;left:-8px;top:6px;width:13px;height:13px;
border-radius:50%;background:#b4232a}
.date{display:block;color:#57606a;font-size:14px}
.note{display:block;font-size:14px}
.small{font-size:13px;color:#57606a}
a{color:#0b5cad}
"""

# No scripts, no frames, no outside resources; the form may only post to this site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def page(title: str, body: str) -> str:
    """A complete page; `body` must already be escaped HTML."""
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        "<header>帮代办办件进度查询</header>"
        f"<main><section><h1>{esc(title)}</h1>{body}</section></main></body></html>"
    )
