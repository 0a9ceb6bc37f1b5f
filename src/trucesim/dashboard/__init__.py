"""Interactive dashboard: watch a scenario run in the browser and turn its knobs.

Built on Mesa's ``SolaraViz``. The modules split by concern, as in Mesa's examples:

- :mod:`~trucesim.dashboard.model`: :class:`DashboardModel`, a
  :class:`~trucesim.core.model.TruceModel` built from the dashboard's controls, with the
  regime-override hook;
- :mod:`~trucesim.dashboard.territory_map` and :mod:`~trucesim.dashboard.charts`: matplotlib
  figures drawn once and updated in place each step;
- :mod:`~trucesim.dashboard.components`: the Solara panels;
- :mod:`~trucesim.dashboard.app`: the SolaraViz page (``page``);
- :mod:`~trucesim.dashboard.server`: ``trucesim dashboard``: checks, then serves the page.

Only ``components``, ``app`` and the serving part of ``server`` need Solara (the optional
``dashboard`` extra); importing this package does not.
"""
