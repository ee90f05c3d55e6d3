"""The demo account: made-up users, 60 days of history, and a live trickle of notifications.

Everything is generated from a fixed random seed, relative to the moment of seeding, so two
runs at the same time of day produce the same account. Every address uses a reserved domain
(``.example``, ``example.com``/``.net``/``.org``, ``.invalid``), so none can be a real mailbox.
"""
