"""A local HTTP fake of the Stripe v1 API (Connect accounts, transfers,
reversals, balance, events), for testing payout code with the real ``stripe``
SDK.  See ``server.StripeFake``; run standalone with
``python -m tests.fakes.stripe_api --port 12111``.
"""

from .faults import FAULTS
from .server import RequestDetail, RequestRecord, StripeFake
from .webhooks import Delivery, sign_payload

__all__ = ["FAULTS", "Delivery", "RequestDetail", "RequestRecord", "StripeFake", "sign_payload"]
