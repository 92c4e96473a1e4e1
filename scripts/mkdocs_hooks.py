"""MkDocs hook: the config reference page gets its tables from the config schema at build time."""
from nnbin.config.reference import config_reference

MARKER = "<!-- config-reference -->"


def on_page_markdown(markdown, page, config, files):
    return markdown.replace(MARKER, config_reference()) if MARKER in markdown else markdown
