"""Accounting periods of deals (contract §9): pools, revenue shares and minimum guarantees
allocated to the uses of a period when it closes.

- ``rules``: calendar periods and the allocation, the reference model;
- ``sql``: the set-based allocation and every other statement of periods;
- ``close``: closing a license-period and re-allocating a closed one, booked through
  ``ledger.accounting``;
- ``revenue``: revenue reports."""
