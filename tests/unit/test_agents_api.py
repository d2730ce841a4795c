"""agents/ offers a small public API and stays pure: no gateway, no Twisted, no database."""

import ast
import re
from pathlib import Path

import agents

PACKAGE = Path(agents.__file__).parent


def test_every_public_name_exists_and_is_the_modules_own_object():
    import agents.commission
    import agents.network
    import agents.risk
    for name in agents.__all__:
        assert hasattr(agents, name), name
    assert agents.compute is agents.commission.compute
    assert agents.Agent is agents.network.Agent
    assert agents.check is agents.risk.check


def test_agents_imports_nothing_but_the_standard_library_and_itself():
    forbidden = ("gateway", "twisted", "sqlalchemy", "alembic", "structlog", "ledger_client")
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"


def test_agents_never_reads_a_clock():
    clock = re.compile(r"\b(datetime\.(now|utcnow|today)|date\.today|(?<!date)time\.(time|monotonic))\(")
    for path in PACKAGE.glob("*.py"):
        found = clock.search(path.read_text())
        assert found is None, f"{path.name} calls {found[0]}: time is a parameter here"
