"""`agora mix`: budgets and sampling as pure functions (budgets.py) and the mixture they build from a
curation run (build.py)."""
