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


class ImportAlreadyRunning(ImportFileError):
    """A new import while another runs, on a database that writes one import at a time.

    ``running`` is the ImportRun that runs, or None when the lock holder has no run
    (such as an import between its creation and its start).
    """

    def __init__(self, message: str, running=None) -> None:
        super().__init__(message)
        self.running = running
