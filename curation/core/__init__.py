"""Infrastructure every other layer stands on: the workspace, the catalog, ids, errors, user YAML.

Imports nothing else from curation."""
