"""Alerts delivered where staff are: signed webhooks, MQTT and e-mail, routed and rate-limited.

``notifier.Notifier`` hears of every committed alert (from the supervisor, never from a camera
worker), picks its channels (``routing``), queues one delivery per channel on disk
(``delivery_queue``) and sends them on a thread of its own (``channels``), so a receiver that
is down delays messages and never capture or sealing. ``payload`` is what a message says: no
pixels beyond the masked snapshot e-mail attaches, and no credentials.
"""
