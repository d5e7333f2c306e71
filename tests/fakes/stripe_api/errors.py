"""Stripe v1 error bodies.

Shape (https://docs.stripe.com/api/errors)::

    {"error": {"type": ..., "code": ..., "message": ..., "param": ..., "doc_url": ...}}

``type`` is one of the documented ``api_error``, ``card_error``,
``idempotency_error``, ``invalid_request_error``.  The SDK picks its exception
class from the HTTP status first (``_api_requestor.specific_v1_api_error``):
429 -> RateLimitError, 400/404 -> InvalidRequestError (IdempotencyError when
``type == "idempotency_error"``), 401 -> AuthenticationError,
403 -> PermissionError, anything else (409, 5xx) -> APIError.
"""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An error answer.  ``stored`` says whether the idempotency layer keeps it.

    Stripe: "We save results only after the execution of an endpoint begins. If
    incoming parameters fail validation, or the request conflicts with another
    request that's executing concurrently, we don't save the idempotent result"
    (https://docs.stripe.com/api/idempotent_requests).  Parameter validation
    errors are therefore raised with ``stored=False``; errors produced while the
    endpoint runs (balance_insufficient, missing destination, ...) are stored.
    """

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        stored: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.stored = stored
        self.headers = dict(headers or {})

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        err["message"] = self.message
        if self.param:
            err["param"] = self.param
        if request_id:
            err["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        err["type"] = self.type
        return {"error": err}


def invalid_request(
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    status: int = 400,
    stored: bool = False,
) -> StripeError:
    return StripeError(
        status, "invalid_request_error", message, code=code, param=param, stored=stored
    )


def missing_param(param: str) -> StripeError:
    return invalid_request(
        f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def unknown_param(param: str) -> StripeError:
    return invalid_request(
        f"Received unknown parameter: {param}", param=param, code="parameter_unknown"
    )


def no_such(
    kind: str, ident: str, *, param: str = "id", status: int = 404, stored: bool = False
) -> StripeError:
    return invalid_request(
        f"No such {kind}: '{ident}'",
        param=param,
        code="resource_missing",
        status=status,
        stored=stored,
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return invalid_request(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        status=404,
    )


def balance_insufficient() -> StripeError:
    # Stored: it is decided while the endpoint runs, so a retry with the same
    # Idempotency-Key replays this 400 (docs: "A request that returns a 400 sends
    # back the same 400 if followed by a new request with the same idempotency key").
    return invalid_request(
        "You have insufficient available funds in your Stripe account. Try adding funds "
        "directly to your available balance by creating Charges using the "
        "4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
        code="balance_insufficient",
        stored=True,
    )


def api_error_500(request_id: str | None = None) -> StripeError:
    ref = f" (Request {request_id})" if request_id else ""
    return StripeError(
        500,
        "api_error",
        "An unknown error occurred" + ref,
        stored=True,
    )


def idempotency_key_in_use(key: str) -> StripeError:
    # 409 with code idempotency_key_in_use.  Stripe documents the code ("There is
    # currently another in-progress request using this idempotent key ... retry
    # your request after the previous one has completed"); the live API answers it
    # with type invalid_request_error.  The SDK maps any 409 to APIError and, with
    # max_network_retries > 0, retries it (``_http_client._should_retry``).
    return StripeError(
        409,
        "invalid_request_error",
        "There is currently another in-progress request using this Idempotent Key "
        f"(that probably means you submitted twice, and the other request is still going "
        f"through): {key}. Please try again later.",
        code="idempotency_key_in_use",
        stored=False,
    )


def idempotency_params_mismatch(key: str) -> StripeError:
    return StripeError(
        400,
        "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        stored=False,
    )


def idempotency_endpoint_mismatch(key: str, first: str, now: str) -> StripeError:
    return StripeError(
        400,
        "idempotency_error",
        "Keys for idempotent requests can only be used for the same endpoint they were "
        f"first used for ('{first}' vs '{now}'). Try using a key other than '{key}' if "
        "you meant to execute a different request.",
        stored=False,
    )


def rate_limited() -> StripeError:
    # Since API version 2015-09-08 rate limiting answers 429 (docs changelog
    # "Rate-limited requests now return an HTTP 429 error").  The SDK raises
    # RateLimitError for any 429 and retries it only when the response carries
    # ``Stripe-Should-Retry: true``.
    return StripeError(
        429,
        "invalid_request_error",
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
        stored=False,
    )


def lock_timeout() -> StripeError:
    return StripeError(
        429,
        "invalid_request_error",
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it. If you see this error intermittently, retry "
        "the request. If you see this error frequently and are making multiple concurrent "
        "requests to a single object, make your requests serially or at a lower rate.",
        code="lock_timeout",
        stored=False,
        headers={"Stripe-Should-Retry": "true"},
    )


def no_api_key() -> StripeError:
    return StripeError(
        401,
        "invalid_request_error",
        "You did not provide an API key. You need to provide your API key in the "
        "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
        "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
        "or we can help at https://support.stripe.com/.",
        stored=False,
    )


def invalid_api_key(key: str) -> StripeError:
    shown = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key
    return StripeError(
        401, "invalid_request_error", f"Invalid API Key provided: {shown}", stored=False
    )
