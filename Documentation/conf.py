# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration of the markers documentation: `make docs`
# (scripts/docs.sh), with warnings as errors.

project = "markers"
author = "The markers developers"
copyright = "The markers developers"
root_doc = "index"
exclude_patterns = ["output"]  # make docs and make rustdoc write there
# Literal blocks without a language stay plain text.
highlight_language = "none"
html_theme = "alabaster"
html_show_sourcelink = False
