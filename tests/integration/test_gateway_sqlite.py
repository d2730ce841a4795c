from twisted.trial import unittest

from gateway_cases import GatewayCases


class GatewayOnSQLite(GatewayCases, unittest.TestCase):
    database = "sqlite"
