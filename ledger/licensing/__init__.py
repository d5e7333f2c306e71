"""Licenses: who may use what, for which purpose, when, and at what price."""
