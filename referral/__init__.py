"""Tiered telemedicine referral and remote consultation system."""

__version__ = "0.1.0"
