"""Offline evaluation, one module per capability; benchmark files are read by :mod:`shopmind.datasets`.

* :mod:`~shopmind.evaluate.protocols`, :mod:`~shopmind.evaluate.harness`,
  :mod:`~shopmind.recommend.metrics` — recommendations (msr, loo, temporal splits; metrics; the harness);
* :mod:`~shopmind.evaluate.search` — judged search (Chorus/Icecat, TREC files, a shop's search log);
* :mod:`~shopmind.evaluate.assistant` — intents, out-of-scope, response selection, review sentiment;
* :mod:`~shopmind.evaluate.adversarial` — the assistant's privacy attack suite;
* :mod:`~shopmind.evaluate.forecast` — rolling-origin forecast backtests;
* :mod:`~shopmind.evaluate.report`, :mod:`~shopmind.evaluate.dump`,
  :mod:`~shopmind.evaluate.provenance` — tables, dumps and run provenance.

See docs/evaluation.md.
"""
