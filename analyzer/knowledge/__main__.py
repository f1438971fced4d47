"""``python -m analyzer.knowledge``: the knowledge-base table docs/analyzer.md carries."""

from analyzer.knowledge import markdown

print(markdown(), end="")
