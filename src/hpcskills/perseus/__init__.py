"""Reporting jobs to a PERSEUS portal (`/service/JobManager/add`, seed 002)."""
