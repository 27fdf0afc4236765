"""The demo: a realistic, seeded e-commerce data set and an in-process server to explore it.

- :mod:`incidenttui.demo.seed` writes the data set (``seed_demo``); ``incidenttui server --seed
  demo`` uses it too.
- :mod:`incidenttui.demo.run` runs a throwaway seeded server on loopback (``DemoServer``,
  ``run_demo``) for ``incidenttui demo``.

Nothing is imported here, so seeding a server does not pull in uvicorn.
"""
