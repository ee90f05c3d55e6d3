"""Streamlit glue shared by the pages: cached resources, cached queries, small widgets.

Pages import from here and from `core`; nothing here holds business rules.
"""
