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


class WriterAlreadyRunning(Exception):
    """A long write, such as a full re-scoring, started while another job holds the lock
    of accounts.importing.serial.

    ``holder`` is the LockHolder of the running job, and ``running`` its run, or None
    when its run is not found. The message names the running job and what to do.
    """

    def __init__(self, message: str, *, holder=None, running=None) -> None:
        super().__init__(message)
        self.holder = holder
        self.running = running
