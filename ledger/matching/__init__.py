"""The outcome and the amounts of every usage event: where a work is matched, a license
chosen and a royalty computed.

- ``sql``: the set-based evaluation (match, split version, opt-outs, license, outcome,
  amounts) and every other statement of matching;
- ``accrual``: a stored batch evaluated, inserted, tallied and booked as it arrives;
- ``reevaluation``: events evaluated again after catalog changes, with back-pay;
- ``tally``: the usage tallies the reports read;
- ``rules``: the reference model the SQL is held to by Hypothesis tests."""
