"""Synthetic raw deliveries: a believable world of French employers written in the
exact raw formats of the real sources, with the generator's ground truth."""
