"""One camera's pipeline as a plain object: capture -> detect -> record -> seal, no processes.

``camera.CameraPipeline`` is what a camera worker and ``hotspot analyze`` both run;
``preview_requests`` is how the service asks a camera for a live or editor preview. Import from
the modules: this package re-exports nothing, so the service can ask for previews without
loading PyAV and OpenCV.
"""
