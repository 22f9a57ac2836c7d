"""Evidence: sealing clips, the signed custody log, export bundles and their verification.

This package never imports ``monitor``, OpenCV, PyAV or FastAPI, so a court's expert can run
the verifier with nothing but ``cryptography`` and ``rfc8785`` installed.
"""
