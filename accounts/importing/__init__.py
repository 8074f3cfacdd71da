"""Import of company exports (CSV files and JSON arrays) into accounts.

Entry points are ``accounts.services.accounts_import`` and the ``import_accounts``
management command. See docs/importing.md for the layouts and rules.
"""
