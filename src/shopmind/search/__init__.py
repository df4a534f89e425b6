"""Product search: analyzers (en, zh), lexical BM25 over fields, semantic retrieval, fusion, learned
ranking, typo tolerance, suggestions, facets and the serving ``SearchService``. See docs/search.md."""
