"""Several recorder nodes on one database: who records which camera (leases), and the
take-over of a dead node's cameras."""
