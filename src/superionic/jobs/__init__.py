"""Workflow steps: plain functions over stores, and their jobflow jobs."""
