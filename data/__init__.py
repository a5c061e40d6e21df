"""Bundled reference data of rmpredict (tables, manifest, datasheet); see README.md here."""
