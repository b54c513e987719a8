"""Engines that run embed and predict somewhere other than this process (Ray)."""
