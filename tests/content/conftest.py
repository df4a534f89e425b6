"""The content tests share the assistant's tiny-shop fixtures (one generated shop, one trained assistant)."""

from assistant.conftest import encoder, service, shop_db, shop_dir, store, trained_dir  # noqa: F401
