"""Tests against a real Redis server, including several processes sharing one limit and one budget."""
