"""xinyong: a public credit information platform built on the rule of law."""

__version__ = "0.1.0"
