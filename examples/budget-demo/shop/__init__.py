"""A small shop: carts, tax rates and checkout."""
