"""Whole rows and partial updates of the sandbox tables, as plain column -> value dicts.

Rows hold plain Python values (``dict``/``list`` for jsonb); :func:`sandbox.source_db.schema.adapt`
wraps them for psycopg. Every function draws from the ``rng`` it is given and takes the
clock as ``now``, so a seed and a fixed clock reproduce the same rows.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Final

from sandbox.campaigns import CAMPAIGNS
from sandbox.source_db import values as v

Row = dict[str, object]

ATTRIBUTION_COLUMNS: Final = ("utm_source", "utm_campaign", "campaign_id")


def customer(rng: random.Random, customer_id: int, now: datetime) -> Row:
    """A new customer who signed up at ``now``."""
    city, country = rng.choice(v.CITIES)
    return {
        "id": customer_id,
        "external_id": v.random_uuid(rng),
        "email": v.email(rng, customer_id),
        "full_name": v.full_name(rng),
        "phone": v.maybe(rng, 0.7, v.phone(rng)),
        "city": v.maybe(rng, 0.85, city),
        "country_code": country,
        "birth_date": v.maybe(rng, 0.6, v.birth_date(rng)),
        "loyalty_tier": v.maybe(rng, 0.5, rng.randint(1, 4)),
        "loyalty_points": v.maybe(rng, 0.7, rng.randint(0, 250_000)),
        "lifetime_value": v.maybe(rng, 0.6, v.rate4(rng, 0, 99_999_999_999)),
        "referred_by": v.maybe(rng, 0.2, rng.randint(1, max(1, customer_id - 1))),
        "marketing_opt_in": rng.random() < 0.6,
        "preferences": v.maybe(rng, 0.7, v.preferences(rng)),
        "last_seen_local": v.maybe(rng, 0.8, v.local_timestamp(rng, now, 30)),
        "created_at": now,
        "updated_at": now,
    }


def order(
    rng: random.Random, order_id: int, customer_id: int, now: datetime, status: str = "pending"
) -> Row:
    """A new order of ``customer_id`` placed at ``now``."""
    currency, fx_rate = rng.choice(v.CURRENCIES)
    amount = v.money(rng, 100, 250_000)
    campaign = v.attribution(rng)
    item_count = rng.randint(1, 5)
    shipped = status in ("shipped", "refunded")
    return {
        "id": order_id,
        "customer_id": customer_id,
        "status": status,
        "amount": amount,
        "currency": currency,
        "fx_rate": fx_rate,
        "tax": v.maybe(rng, 0.8, (amount * rng.choice([5, 7, 19, 23]) / 100).quantize(amount)),
        "item_count": item_count,
        "priority": rng.choice([0, 0, 0, 1, 2]),
        "is_gift": v.maybe(rng, 0.7, rng.random() < 0.1),
        "utm_source": campaign.utm_source if campaign else None,
        "utm_campaign": campaign.utm_campaign if campaign else None,
        "campaign_id": campaign.campaign_id if campaign else None,
        "checkout_session": v.maybe(rng, 0.75, v.random_uuid(rng)),
        "line_items": v.line_items(rng, item_count),
        "delivery_date": v.maybe(rng, 0.6, (now + timedelta(days=rng.randint(1, 10))).date()),
        "promised_delivery": v.maybe(rng, 0.5, v.upcoming_local_timestamp(rng, now, 7)),
        "shipped_at": now + timedelta(hours=rng.randint(1, 72)) if shipped else None,
        "notes": v.notes(rng),
        "created_at": now,
        "updated_at": now,
    }


def historic_customer(rng: random.Random, customer_id: int, epoch: datetime) -> Row:
    """A customer who signed up in the year before ``epoch`` (for seeding)."""
    row = customer(rng, customer_id, v.past_instant(rng, epoch, 365))
    row["updated_at"] = epoch
    return row


def historic_order(rng: random.Random, order_id: int, customer_id: int, epoch: datetime) -> Row:
    """An order placed in the 90 days before ``epoch``, in any status (for seeding)."""
    placed = v.past_instant(rng, epoch, 90)
    row = order(rng, order_id, customer_id, placed, status=v.historic_status(rng))
    row["updated_at"] = epoch
    return row


def customer_profile(rng: random.Random, customer_id: int, now: datetime) -> Row:
    """An edit of a customer's profile: e-mail, loyalty, consent, preferences, last seen."""
    return {
        "email": v.email(rng, customer_id),
        "loyalty_points": rng.randint(0, 250_000),
        "lifetime_value": v.rate4(rng, 0, 99_999_999_999),
        "marketing_opt_in": rng.random() < 0.5,
        "preferences": v.preferences(rng),
        "last_seen_local": now.replace(tzinfo=None),
        "updated_at": now,
    }


def customer_optional(rng: random.Random, customer_id: int, now: datetime) -> Row:
    """Set a customer's nullable columns all to NULL, or all back to values (half each)."""
    values = customer(rng, customer_id, now)
    clear = rng.random() < 0.5
    optional = ("phone", "city", "birth_date", "loyalty_tier", "referred_by", "preferences")
    row: Row = {name: None if clear else values[name] for name in optional}
    if not clear:  # customer() may have drawn NULLs; "back" means values
        row["phone"] = v.phone(rng)
        row["birth_date"] = v.birth_date(rng)
        row["loyalty_tier"] = rng.randint(1, 4)
        row["preferences"] = v.preferences(rng)
    row["updated_at"] = now
    return row


def order_amount(rng: random.Random, now: datetime) -> Row:
    """A corrected amount (and its tax, sometimes dropped)."""
    amount = v.money(rng, 100, 250_000)
    tax = v.maybe(rng, 0.8, (amount * rng.choice([5, 7, 19, 23]) / 100).quantize(amount))
    return {"amount": amount, "tax": tax, "updated_at": now}


def order_small_columns(rng: random.Random, now: datetime) -> Row:
    """A change of only small columns, leaving a TOASTed ``notes`` untouched."""
    return {
        "priority": rng.randint(0, 3),
        "is_gift": rng.random() < 0.5,
        "item_count": rng.randint(1, 6),
        "updated_at": now,
    }


def order_optional(rng: random.Random, now: datetime) -> Row:
    """Attribution and other nullable columns set to NULL or to values (half each)."""
    campaign = rng.choice(CAMPAIGNS) if rng.random() < 0.5 else None
    return {
        "utm_source": campaign.utm_source if campaign else None,
        "utm_campaign": campaign.utm_campaign if campaign else None,
        "campaign_id": campaign.campaign_id if campaign else None,
        "is_gift": (rng.random() < 0.2) if campaign else None,
        "checkout_session": v.random_uuid(rng) if campaign else None,
        "promised_delivery": v.upcoming_local_timestamp(rng, now, 5) if campaign else None,
        "updated_at": now,
    }


def order_notes(rng: random.Random, now: datetime) -> Row:
    """New notes: a TOAST-sized log, a short remark or NULL (a third each)."""
    draw = rng.random()
    text = (
        v.toast_text(rng) if draw < 1 / 3 else rng.choice(v.SHORT_NOTES) if draw < 2 / 3 else None
    )
    return {"notes": text, "updated_at": now}


def status_change(rng: random.Random, status: str, now: datetime) -> Row | None:
    """The next step of an order's life (pending -> paid -> shipped; cancel; refund), if any."""
    if status == "pending":
        next_status = "paid" if rng.random() < 0.8 else "cancelled"
    elif status == "paid":
        next_status = "shipped" if rng.random() < 0.85 else "refunded"
    elif status == "shipped" and rng.random() < 0.1:
        next_status = "refunded"
    else:
        return None
    change: Row = {"status": next_status, "updated_at": now}
    if next_status == "shipped":
        change["shipped_at"] = now
    return change
