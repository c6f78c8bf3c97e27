"""Agora: register, curate and mix contributed multilingual text."""

__version__ = "0.1.0"
