"""Reflectors, informers and thread-safe indexed stores."""
