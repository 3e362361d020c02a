"""Vigil's pages: the design system served by Vigil itself, one layout, the filters, error pages, the API docs.

Every service's pages build on this package (docs/pages.md); it imports no service and nothing from
shared.problems, which renders its HTML error pages through it.
"""
