"""Assisted redemption with the central ledger over SMPP (agent_cases.AgentCentralLedgerCases),
on SQLite and PostgreSQL."""

import pytest
from twisted.trial import unittest

from agent_cases import AgentCentralLedgerCases
from ledger_fixtures import ScratchDatabase


class AgentCentralLedgerOnSQLite(AgentCentralLedgerCases, ScratchDatabase, unittest.TestCase):
    database = "sqlite"


@pytest.mark.postgres
class AgentCentralLedgerOnPostgreSQL(AgentCentralLedgerCases, ScratchDatabase, unittest.TestCase):
    database = "postgresql"
