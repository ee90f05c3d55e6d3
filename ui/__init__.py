"""Streamlit glue shared by the pages: resources, cached queries, every write, small widgets.

Pages call this package for everything and take only types and constants from `core`;
nothing here holds business rules (docs/architecture.md, "A page", "A write action").
"""
