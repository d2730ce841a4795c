import pytest
from twisted.trial import unittest

from keyword_cases import KeywordCases

pytestmark = pytest.mark.postgres


class KeywordsOnPostgreSQL(KeywordCases, unittest.TestCase):
    database = "postgresql"
