"""Pure per-document functions: a string in, values out (normalization, scripts, words, language
id, quality signals, PII, hashes and MinHash). No catalog, no DuckDB, no files of the user's."""
