"""The mrasim command line: one thin module per command group (parse, call the lab, scenarios, analyzer or load tools, print)."""
