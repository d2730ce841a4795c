import pytest
from twisted.trial import unittest

from agent_cases import AgentExchangeCases


class AgentExchangeOnSQLite(AgentExchangeCases, unittest.TestCase):
    database = "sqlite"


@pytest.mark.postgres
class AgentExchangeOnPostgreSQL(AgentExchangeCases, unittest.TestCase):
    database = "postgresql"
