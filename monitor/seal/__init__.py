"""The record path: a camera's clip, alert and seal records, from the pipeline to the custody log.

``clip_sealer`` turns a camera's clips and alerts into records for an ``Outbox``. In a camera
worker that is ``worker_outbox.WorkerOutbox``: each record is fsynced to the worker's journal
(``spool``) and sent to the supervisor, whose ``record_applier.RecordApplier`` thread applies
every worker's records in order through a ``database_outbox.DatabaseOutbox``. In-process
(``hotspot analyze``, recovery) records go to a ``DatabaseOutbox`` directly. It writes rows and
custody entries through an ``outage_queue.OutageQueue``, which keeps writes on disk (``spool``)
while the database is down. ``crash_recovery`` finishes or quarantines what a dead process left.
``admission`` says what a record may do given who handed it over; ``quarantine`` moves aside,
with a custody entry, what must not be sealed.
"""
