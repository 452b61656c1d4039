"""Preview the new-case page on a throw-away demo database: `python -m app.ui.intake`."""

import sys

from app.ui.application import make_app
from app.ui.context import preview_context, preview_data
from app.ui.intake.page import IntakePage


def main() -> int:
    app = make_app(sys.argv)
    data = preview_data(cases=60)
    page = IntakePage(preview_context(data))
    page.setWindowTitle("新建接件（预览）")
    page.resize(1340, 680)
    page.show()
    code = app.exec()
    data.rt.close()
    return code


sys.exit(main())
