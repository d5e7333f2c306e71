"""Paying creators: providers (Stripe Connect, sandbox), payout runs, webhooks, reconciling."""
