"""incidenttui: a terminal incident console for IT operations teams."""

__version__ = "0.1.0"
