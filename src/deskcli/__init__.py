"""deskcli: a terminal-first console for IT service-desk technicians."""

__version__ = "0.1.0"
