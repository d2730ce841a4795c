"""What can go wrong with a posting, as types a caller can act on."""


class LedgerError(Exception):
    """Base of every ledger refusal."""


class UnknownAccount(LedgerError):
    def __init__(self, account_id):
        super().__init__(f"no ledger account {account_id}")
        self.account_id = account_id


class InsufficientFunds(LedgerError):
    def __init__(self, account_id, amount):
        super().__init__(f"account {account_id} cannot cover {amount}")
        self.account_id = account_id
        self.amount = amount


class IdReused(LedgerError):
    """A transfer id posted before with different content: a caller bug, never retried."""

    def __init__(self, transfer_id):
        super().__init__(f"transfer id {transfer_id!r} already used for another transfer")
        self.transfer_id = transfer_id
