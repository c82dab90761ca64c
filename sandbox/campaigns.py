"""The fixed catalog of marketing campaigns that orders are attributed to.

The source database's orders carry these campaigns' attribution (``utm_source``,
``utm_campaign``, ``campaign_id``), and the ad-platform sandboxes serve performance
data for the same campaigns, so that a join of revenue and spend finds its partners.
The catalog is a constant: never generated, never random.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Platform = Literal["facebook", "google", "newsletter"]

PLATFORMS: tuple[Platform, ...] = ("facebook", "google", "newsletter")

_ID_PREFIX: dict[Platform, str] = {"facebook": "fb", "google": "gads", "newsletter": "nl"}


@dataclass(frozen=True)
class Campaign:
    """One marketing campaign, as attributed on orders and served by its ad platform."""

    platform: Platform
    campaign_id: str
    utm_campaign: str

    @property
    def utm_source(self) -> str:
        """The ``utm_source`` of orders attributed to this campaign (the platform's name)."""
        return self.platform

    @property
    def external_id(self) -> str:
        """The campaign's id in its platform's own API (``fb-23850001`` is ``23850001``)."""
        return self.campaign_id.removeprefix(f"{_ID_PREFIX[self.platform]}-")


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign("facebook", "fb-23850001", "spring_sale_2025"),
    Campaign("facebook", "fb-23850002", "retargeting_cart_abandoners"),
    Campaign("facebook", "fb-23850003", "lookalike_top_buyers"),
    Campaign("facebook", "fb-23850004", "brand_awareness_video"),
    Campaign("facebook", "fb-23850005", "summer_collection_carousel"),
    Campaign("google", "gads-71200001", "search_brand_exact"),
    Campaign("google", "gads-71200002", "search_generic_shoes"),
    Campaign("google", "gads-71200003", "shopping_all_products"),
    Campaign("google", "gads-71200004", "pmax_winter_clearance"),
    Campaign("google", "gads-71200005", "display_remarketing"),
    Campaign("newsletter", "nl-20250101", "weekly_digest"),
    Campaign("newsletter", "nl-20250102", "vip_early_access"),
)


def campaigns_of(platform: Platform) -> tuple[Campaign, ...]:
    """The catalog's campaigns run on one platform, in catalog order."""
    return tuple(campaign for campaign in CAMPAIGNS if campaign.platform == platform)


def campaign_by_id(campaign_id: str) -> Campaign:
    """The catalog's campaign with this ``campaign_id``; KeyError when there is none."""
    for campaign in CAMPAIGNS:
        if campaign.campaign_id == campaign_id:
            return campaign
    raise KeyError(campaign_id)
