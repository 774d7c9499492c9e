"""Keeping series current: partitions, run requests, schedules, sensors and freshness."""
