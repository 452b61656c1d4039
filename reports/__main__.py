"""Preview: `python -m reports [folder]` writes every document kind, from sample data, as PDF."""

from __future__ import annotations

import sys
from pathlib import Path

from reports.documents import KINDS, render_pdf, sample_data
from reports.fonts import registered_choice


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path.cwd() / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    choice = registered_choice()
    print(f"正文字体：{choice.body.label}（{choice.body.path}）")
    print(f"标题字体：{choice.heading.label}（{choice.heading.path}）")
    for kind, spec in KINDS.items():
        path = folder / f"{kind}.pdf"
        render_pdf(kind, sample_data(kind), path)
        print(f"{spec.title}：{path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
