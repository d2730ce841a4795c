"""Every table the gateway's migrations manage, in one place.

Tables are declared in the module of their subject (models.py for members,
inbox and outbox; ledger_client/schema.py for the ledger) on one of two
metadata objects.  Importing a module registers its tables, so a new table
module is added to the imports below; Alembic and `jifen db check` compare
`ALL_METADATA` with the database.
"""

from gateway.store import models
from gateway.store import tables_mo  # noqa: F401  (registers its tables)
from gateway.store import tables_catalog  # noqa: F401  (registers its tables)
from gateway.store import tables_keywords  # noqa: F401  (registers its tables)
from gateway.store import tables_agents  # noqa: F401  (registers its tables)
from gateway.store import tables_ussd  # noqa: F401  (registers its tables)
from gateway.store import tables_secrets  # noqa: F401  (registers its tables)
from ledger_client import schema as ledger_schema

ALL_METADATA = (models.metadata, ledger_schema.metadata)
