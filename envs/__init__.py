"""Gymnasium environments (registered as stepsize/<Name>-v0)."""
