"""Matching a used item to a registered work, and deciding each event's outcome."""
