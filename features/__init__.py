"""The monthly panel: silver tables, variable builders and the variable catalog."""
