"""Recommendation algorithms behind one interface (``shopmind.recommend.base.Recommender``)."""
