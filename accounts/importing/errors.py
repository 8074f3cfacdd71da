"""Exceptions of the account importer."""


class ImportFileError(Exception):
    """A problem with a whole file, its mapping or the import options that stops its import.

    The message names the file or value and how to fix it.
    """


class RowRejected(Exception):
    """A row that cannot become an account. The message is the reason in the report."""


class ImportNotCancellable(Exception):
    """A cancel request for an import that has already succeeded or failed.

    The message names the run, its status and what to do instead.
    """
