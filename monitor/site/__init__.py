"""An opened site: its configuration, storage folders, database and evidence store, and its disk.

``folders.Site`` is what a camera worker gets (configuration and folders, no database, no key);
``runtime.Runtime`` adds the database and the evidence store for the supervisor, the service and
the commands; ``storage_guard`` is retention and the free-space floor, the only code that deletes
footage.
"""
