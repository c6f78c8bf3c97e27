"""`agora curate`: the recipe, stage 1 (datatrove steps), stage 2 (dedup), stage 3 (policy), the
driver that runs them, and the read side of curation runs (funnel, views, runs, docs)."""
