"""Governance records: audit findings and training."""
