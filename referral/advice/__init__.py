"""Diagnostic advice: the signed, versioned PDF, its verification, and the pages around it.

- issuing.py: signing inside the `issue_advice` transaction (verification code, PDF, SHA-256)
- document.py + templates/advice/pdf.html: what the PDF shows
- images.py: key images from the case's DICOM studies
- storage.py: the content-addressed, write-once PDF store under the data directory
- service.py: reads for the pages and the API (access-checked, audited), the public verification
- views.py: the advice form, PDF downloads, `/verify/<code>`; `init_app` wires them into the app

This module imports nothing, so the services can import `issuing` without pulling in Flask.
"""
