"""Scoring: monthly alert lists with explanations and expert corrections, in Delta."""
