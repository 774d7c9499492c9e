"""Analyst access: the Python API, DuckDB SQL and its planner, the HTTP API, charts."""
