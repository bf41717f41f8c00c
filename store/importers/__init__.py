"""Importers: parsers and generators that turn files (SQL dumps, Retailrocket, interaction CSVs)
or a synthetic shop into payloads of the store API, written through the store service."""
