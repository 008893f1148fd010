"""Denial-management service: configuration, pure domain, service layer, adapters and entry points."""
