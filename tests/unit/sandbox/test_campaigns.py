"""The campaign catalog is small, fixed and consistent."""

from __future__ import annotations

import dataclasses

import pytest

from sandbox.campaigns import CAMPAIGNS, PLATFORMS, campaign_by_id, campaigns_of


def test_catalog_is_fixed_and_unique() -> None:
    assert len(CAMPAIGNS) == 12
    assert len({campaign.campaign_id for campaign in CAMPAIGNS}) == 12
    assert len({campaign.utm_campaign for campaign in CAMPAIGNS}) == 12
    assert {campaign.utm_source for campaign in CAMPAIGNS} == set(PLATFORMS)


def test_ids_carry_their_platform_and_its_own_id() -> None:
    facebook = campaign_by_id("fb-23850001")
    assert (facebook.platform, facebook.utm_source, facebook.external_id) == (
        "facebook",
        "facebook",
        "23850001",
    )
    assert campaign_by_id("gads-71200001").external_id == "71200001"
    assert [c.campaign_id for c in campaigns_of("google")] == [
        f"gads-7120000{n}" for n in range(1, 6)
    ]


def test_campaigns_are_frozen_and_unknown_ids_raise() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CAMPAIGNS[0].campaign_id = "x"  # type: ignore[misc]
    with pytest.raises(KeyError):
        campaign_by_id("fb-0")
