"""Security: password hashing, personal-data encryption and the keyring door (no Qt, no peewee)."""
