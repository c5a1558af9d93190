"""LLM providers behind one small interface (see base.py), chosen by name from a registry."""
