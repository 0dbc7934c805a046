"""Localized notification payloads (SPEC §7): ``{"type","title","body","url","tag","data"}``
in the recipient's language (es, ca, ro, en; anything else falls back to English), at most
3,993 bytes of JSON (RFC 8291: one 4,096-byte aes128gcm record).

The texts use numbers, tier and reward names only: no names, emails or other personal
values go to a push service."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["MAX_PAYLOAD_BYTES", "render", "TIER_LABELS", "REWARD_LABELS"]

MAX_PAYLOAD_BYTES = 3993

TIER_LABELS: dict[str, dict[str, str]] = {
    "es": {"member": "Miembro", "silver": "Plata", "gold": "Oro", "platinum": "Platino"},
    "ca": {"member": "Membre", "silver": "Plata", "gold": "Or", "platinum": "Platí"},
    "ro": {"member": "Membru", "silver": "Argint", "gold": "Aur", "platinum": "Platină"},
    "en": {"member": "Member", "silver": "Silver", "gold": "Gold", "platinum": "Platinum"},
}

REWARD_LABELS: dict[str, dict[str, str]] = {
    "es": {"voucher_5": "un vale de 5 €", "voucher_10": "un vale de 10 €", "voucher_25": "un vale de 25 €", "voucher_50": "un vale de 50 €"},
    "ca": {"voucher_5": "un val de 5 €", "voucher_10": "un val de 10 €", "voucher_25": "un val de 25 €", "voucher_50": "un val de 50 €"},
    "ro": {"voucher_5": "un voucher de 5 €", "voucher_10": "un voucher de 10 €", "voucher_25": "un voucher de 25 €", "voucher_50": "un voucher de 50 €"},
    "en": {"voucher_5": "a €5 voucher", "voucher_10": "a €10 voucher", "voucher_25": "a €25 voucher", "voucher_50": "a €50 voucher"},
}

# (title, body) per type and language; ``{...}`` filled from the event data.
_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "points_earned": {
        "es": ("¡Has ganado {points} puntos!", "Tu saldo es ahora de {balance} puntos."),
        "ca": ("Has guanyat {points} punts!", "El teu saldo ara és de {balance} punts."),
        "ro": ("Ai câștigat {points} de puncte!", "Soldul tău este acum de {balance} de puncte."),
        "en": ("You earned {points} points!", "Your balance is now {balance} points."),
    },
    "tier_changed": {
        "es": ("Tu nivel ahora es {tier}", "Tu nivel de fidelidad ha cambiado a {tier}."),
        "ca": ("El teu nivell ara és {tier}", "El teu nivell de fidelitat ha canviat a {tier}."),
        "ro": ("Nivelul tău este acum {tier}", "Nivelul tău de fidelitate s-a schimbat în {tier}."),
        "en": ("You are now {tier}", "Your loyalty tier changed to {tier}."),
    },
    "reward_unlocked": {
        "es": ("¡Recompensa desbloqueada!", "Has conseguido {reward}. Úsalo en tu próxima compra."),
        "ca": ("Recompensa desbloquejada!", "Has aconseguit {reward}. Fes-lo servir a la propera compra."),
        "ro": ("Recompensă deblocată!", "Ai obținut {reward}. Folosește-l la următoarea cumpărătură."),
        "en": ("Reward unlocked!", "You got {reward}. Use it on your next purchase."),
    },
    "points_expiring": {
        "es": ("Tus puntos caducan pronto", "{points} puntos caducan el {date}. ¡Aprovéchalos!"),
        "ca": ("Els teus punts caduquen aviat", "{points} punts caduquen el {date}. Aprofita'ls!"),
        "ro": ("Punctele tale expiră în curând", "{points} de puncte expiră pe {date}. Folosește-le!"),
        "en": ("Your points expire soon", "{points} points expire on {date}. Use them while you can!"),
    },
    "birthday": {
        "es": ("¡Feliz cumpleaños!", "Tenemos un regalo para ti en tu tienda."),
        "ca": ("Per molts anys!", "Tenim un regal per a tu a la teva botiga."),
        "ro": ("La mulți ani!", "Avem un cadou pentru tine în magazinul tău."),
        "en": ("Happy birthday!", "We have a gift for you at your store."),
    },
    "vip_check_in": {
        "es": ("Cliente VIP en tienda", "Un cliente VIP acaba de entrar. Abre la ficha para atenderle."),
        "ca": ("Client VIP a la botiga", "Un client VIP acaba d'entrar. Obre la fitxa per atendre'l."),
        "ro": ("Client VIP în magazin", "Un client VIP tocmai a intrat. Deschide fișa pentru a-l servi."),
        "en": ("VIP client in store", "A VIP client just checked in. Open their profile to greet them."),
    },
}

_URLS = {
    "points_earned": "/loyalty", "tier_changed": "/loyalty", "reward_unlocked": "/loyalty/rewards",
    "points_expiring": "/loyalty", "birthday": "/loyalty", "vip_check_in": "/customers/{customerId}",
}


class _Payload(msgspec.Struct):
    type: str
    title: str
    body: str
    url: str
    tag: str
    data: dict[str, Any]


def _language(language: str | None) -> str:
    lang = (language or "en").lower()[:2]
    return lang if lang in _TEXTS["points_earned"] else "en"


def render(kind: str, language: str | None, data: dict[str, Any]) -> bytes:
    """The JSON payload for one notification, never above :data:`MAX_PAYLOAD_BYTES` (the
    body is shortened, then ``data`` dropped, if an unusual value makes it longer)."""
    lang = _language(language)
    title_t, body_t = _TEXTS[kind][lang]
    values = {k: v for k, v in data.items() if isinstance(v, (str, int, float))}
    if "tier" in data:
        values["tier"] = TIER_LABELS[lang].get(str(data["tier"]), str(data["tier"]))
    if "reward" in data:
        values["reward"] = REWARD_LABELS[lang].get(str(data["reward"]), str(data["reward"]))
    if "expiresAt" in data:
        values["date"] = str(data["expiresAt"])[:10]
    try:
        title, body = title_t.format(**values), body_t.format(**values)
        url = _URLS[kind].format(**values)
    except (KeyError, IndexError):
        title, body, url = title_t.split("{")[0].strip(), "", "/"
    payload = _Payload(type=kind, title=title, body=body, url=url, tag=kind, data=data)
    encoded = msgspec.json.encode(payload)
    while len(encoded) > MAX_PAYLOAD_BYTES and payload.body:
        payload.body = payload.body[: len(payload.body) // 2]
        encoded = msgspec.json.encode(payload)
    if len(encoded) > MAX_PAYLOAD_BYTES:
        payload.data = {}
        encoded = msgspec.json.encode(payload)
    while len(encoded) > MAX_PAYLOAD_BYTES:
        payload.title = payload.title[: len(payload.title) * MAX_PAYLOAD_BYTES // len(encoded) - 1]
        encoded = msgspec.json.encode(payload)
    return encoded
