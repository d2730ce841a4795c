import pytest
from twisted.trial import unittest

from gateway_cases import GatewayCases

pytestmark = pytest.mark.postgres


class GatewayOnPostgreSQL(GatewayCases, unittest.TestCase):
    database = "postgresql"
