"""Matching rows to accounts and pricing them."""
