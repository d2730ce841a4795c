from twisted.trial import unittest

from keyword_cases import KeywordCases


class KeywordsOnSQLite(KeywordCases, unittest.TestCase):
    database = "sqlite"
