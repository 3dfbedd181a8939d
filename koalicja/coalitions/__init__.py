"""Coalitions and their declarations as data: the models every feature stands on, and the one
way to find the coalition a URL names."""
