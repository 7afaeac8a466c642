"""Pydantic documents for everything superionic stores."""
