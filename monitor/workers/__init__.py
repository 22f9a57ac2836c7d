"""The processes: a supervisor and one camera worker process per camera.

What belongs here is process plumbing: starting (``spawning``), restarting and watching workers
(``supervisor``), the worker's own loop (``camera_worker``), the messages that cross between them
(``messages``), process-wide settings a recording process needs (``heap``) and the
unprivileged user a worker started by root becomes (``privileges``). The camera's
actual work is ``monitor.pipeline``; what happens to its records is ``monitor.seal``.
"""
