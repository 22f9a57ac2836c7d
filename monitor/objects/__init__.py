"""Object storage with Object Lock: a write-once copy of every sealed clip and checkpoint.

``bucket`` talks to the S3 store (credentials, the Object Lock check at start, locked
uploads with their SHA-256, legal hold, streamed reads); ``uploads`` is the on-disk queue of
sealed clips waiting for the store, so a store that is down delays uploads and never recording
or sealing; ``witness`` copies checkpoints into the bucket.
"""
