"""Event contracts: topic names, keys and versioned pydantic v2 schemas.

Pure pydantic: nothing here may import the stream, database or service code (import contract).
"""
