"""Offline-first sync between a technician's store and the team server (client side)."""
