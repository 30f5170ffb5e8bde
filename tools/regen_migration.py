"""Regenerate the initial Alembic migration from the models (pre-release only).

Until the first release there is one migration, ``0001``, regenerated from ``db/models.py`` after
every model change so the schema history stays one readable file. After a release, add new
revisions with ``alembic revision --autogenerate`` instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from testrota.db.engine import make_engine
from testrota.db.schema import MIGRATIONS, alembic_config


def main() -> None:
    target = MIGRATIONS / "versions" / "0001_initial_schema.py"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(
            alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001"
        )
        engine.dispose()
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
