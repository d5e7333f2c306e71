from .stripe_api.pytest_plugin import stripe_fake, stripe_fake_session  # noqa: F401
