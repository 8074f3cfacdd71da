"""Locate the public company datasets used by the data tests and benchmarks.

The datasets are not part of the repository. Point ``ICP_DATASETS_DIR`` at the folder
that contains ``sp500-companies/``, ``fortune500-2019/`` and the others, or place a
folder with a ``data/`` subfolder of that layout next to the project.
"""

import os
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
MARKER = Path("sp500-companies") / "constituents.csv"


def find_datasets_dir() -> Path | None:
    configured = os.environ.get("ICP_DATASETS_DIR")
    if configured:
        path = Path(configured)
        return path if (path / MARKER).exists() else None
    for candidate in sorted(PROJECT_DIR.parent.glob("*/data")):
        if (candidate / MARKER).exists():
            return candidate
    return None


def require_datasets_dir() -> Path:
    """Return the datasets folder or skip the calling test with the reason."""
    path = find_datasets_dir()
    if path is None:
        pytest.skip(
            "public company datasets not found: set ICP_DATASETS_DIR to the folder "
            "containing sp500-companies/ and the other datasets"
        )
    return path
