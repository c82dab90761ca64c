"""Kafka client factories and topic administration shared by every service."""
