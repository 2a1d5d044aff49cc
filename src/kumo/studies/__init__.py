"""Reproductions of published experiments. Each study is a plugin of kumo: it plugs into the core through the
same public hooks a third party uses (:mod:`kumo.api`), declared in kumo's own entry points."""
