"""Operations: the project's Dagster instance and its health (status)."""
