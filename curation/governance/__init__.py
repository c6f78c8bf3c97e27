"""Answers owed to contributors and users: lineage, credits, withdrawals, model cards, the report."""
