"""The township side of the county sync: outbox worker, HTTP client, event applier, status."""
