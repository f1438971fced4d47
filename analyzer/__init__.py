"""mrasim's log analyzer: a pile of MRA logs → login sessions → ladder diagrams → findings with fixes.

It reads our lab's logs and real ones (diagnostic bundles, Jabber problem reports, CUCM traces, copy-pasted excerpts)
through the single format definitions in :mod:`common.logformats`, and imports nothing but :mod:`common`
(ARCHITECTURE: the analyzer must work on logs from machines mrasim never ran). The pipeline is plain functions:

``ingest.load`` (paths → :class:`~analyzer.model.Corpus`) → ``flows.messages`` (events → arrows) →
``sessions.build`` (arrows → login attempts) → ``diagnose.diagnose`` (signatures → findings) → ``ladder`` renderers.
"""
