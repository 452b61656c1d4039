"""Another desk: a separate process on the same database that takes one workflow action.

Usage: python tests/helpers/other_desk.py DATA_DIR DB_URL USERNAME DESK CASE_ID ACTION JSON
The database was created with a passphrase-wrapped key, so both processes share it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

PASSPHRASE = "two-desks-passphrase"


def main() -> int:
    data_dir, url, username, desk, case_id, action, data = sys.argv[1:8]
    from app.domain.case import Action
    from app.services import accounts, cases
    from app.services.case_view import get_case
    from app.services.runtime import open_runtime
    from app.store.models import AccountRecord

    rt = open_runtime(Path(data_dir), url, keystore=None, ask_passphrase=lambda: PASSPHRASE)
    actor = accounts.actor_of(AccountRecord.get(AccountRecord.username == username), desk)
    version = get_case(rt, actor, int(case_id)).version
    ref = cases.act(
        rt, actor, int(case_id), Action(action), json.loads(data), expected_version=version
    )
    print(ref.state.value, ref.version)
    rt.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
