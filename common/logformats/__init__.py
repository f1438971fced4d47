"""The vendor log formats, each defined once and used both to write and to parse (ARCHITECTURE rule 3)."""
