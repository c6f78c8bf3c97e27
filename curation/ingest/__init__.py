"""Contributed data into the catalog: readers for every input format, registration, data cards,
fingerprints, language/country codes and the license table. A new input format goes in readers.py."""
