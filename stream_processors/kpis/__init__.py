"""Campaign KPIs per (date, platform, campaign), joined from ads, events and orders."""
