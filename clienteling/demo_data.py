"""Demo data (SPEC §3): three stores, the demo staff logins and a realistic customer base.

``seed_demo`` fills an empty, migrated database with stores in Madrid, Barcelona and
Bucharest, the SPEC §3 staff logins (plus a few more sellers per store), and by default 3,000
customers with Spanish, Catalan, Romanian and English names and languages, sizes,
preferences, loyalty tiers and points, consent histories (each record linked to the consent
notice text in force when it was collected; every purpose is published in es/ca/ro/en for each
notice version), three years of store and online purchases, and seller notes.

Everything is generated up front from ``random.Random(seed)`` (no third-party fakers), then
written with chunked bulk inserts inside one transaction, so the same seed always produces the
same rows (dates are relative to the day of seeding). Store and staff ids are ``uuid5`` values
and therefore stable across runs. Seeding is idempotent: when the Madrid store already exists
nothing is written and the summary says ``skipped``.

The demo loyalty member is a Madrid customer with the email ``member@example.com`` who has
granted ``personalization``, ``push_notifications`` and ``in_store_recognition``.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

from clienteling import db
from clienteling.passwords import Passwords
from clienteling.tables import (
    ConsentNotice,
    ConsentRecord,
    Customer,
    Note,
    Purchase,
    PurchaseLine,
    Staff,
    StaffStore,
    Store,
)
from domain.consent import PURPOSES, notice_sha256
from domain.text import fold, name_key, normalize_email, phone_digits

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_LOGINS",
    "DEMO_MEMBER_EMAIL",
    "SeedSummary",
    "seed_demo",
    "demo_member_customer_id",
]

DEMO_PASSWORD = "clienteling-demo"
DEMO_MEMBER_EMAIL = "member@example.com"

# The SPEC §3 staff logins: (email, role, store label).
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("associate.madrid@example.com", "associate", "Madrid"),
    ("associate.bucharest@example.com", "associate", "Bucharest"),
    ("manager.madrid@example.com", "store_manager", "Madrid"),
    ("hq@example.com", "hq_admin", "all"),
    ("compliance@example.com", "compliance_officer", "all"),
    ("marketing@example.com", "marketing", "all"),
]


class SeedSummary(msgspec.Struct):
    """Rows written by :func:`seed_demo` (all zero and ``skipped`` when already seeded)."""

    stores: int
    staff: int
    customers: int
    purchases: int
    purchase_lines: int
    notes: int
    consents: int
    skipped: bool
    notices: int = 0


# ---------------------------------------------------------------------------------------------
# Fixed reference data
# ---------------------------------------------------------------------------------------------

_NAMESPACE = uuid.UUID("6f1d7c8e-2b0a-5c4e-9d3f-1a2b3c4d5e6f")


@dataclass(frozen=True)
class _StoreDef:
    code: str
    name: str
    city: str
    country: str
    timezone: str
    currency: str

    @property
    def id(self) -> UUID:
        return uuid.uuid5(_NAMESPACE, f"store:{self.code}")


_STORES: tuple[_StoreDef, ...] = (
    _StoreDef("MAD", "Madrid – Serrano", "Madrid", "ES", "Europe/Madrid", "EUR"),
    _StoreDef("BCN", "Barcelona – Passeig de Gràcia", "Barcelona", "ES", "Europe/Madrid", "EUR"),
    _StoreDef("BUC", "București – Calea Victoriei", "Bucharest", "RO", "Europe/Bucharest", "RON"),
)
_STORE_BY_CITY = {s.city: s for s in _STORES}
_STORE_BY_CODE = {s.code: s for s in _STORES}

# (email, display name, role, store codes); the first six are the SPEC §3 logins.
_STAFF: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("associate.madrid@example.com", "Lucía Herrera", "associate", ("MAD",)),
    ("associate.bucharest@example.com", "Andreea Munteanu", "associate", ("BUC",)),
    ("manager.madrid@example.com", "Javier Ortega", "store_manager", ("MAD",)),
    ("hq@example.com", "Elena Castillo", "hq_admin", ("MAD", "BCN", "BUC")),
    ("compliance@example.com", "Marc Riera", "compliance_officer", ("MAD", "BCN", "BUC")),
    ("marketing@example.com", "Sophie Clarke", "marketing", ("MAD", "BCN", "BUC")),
    ("associate2.madrid@example.com", "Álvaro Domínguez", "associate", ("MAD",)),
    ("associate3.madrid@example.com", "Paula Ibáñez", "associate", ("MAD",)),
    ("associate.barcelona@example.com", "Laia Casals", "associate", ("BCN",)),
    ("associate2.barcelona@example.com", "Oriol Vilaseca", "associate", ("BCN",)),
    ("manager.barcelona@example.com", "Montserrat Puig", "store_manager", ("BCN",)),
    ("associate2.bucharest@example.com", "Ștefan Dumitrescu", "associate", ("BUC",)),
    ("manager.bucharest@example.com", "Ioana Popescu", "store_manager", ("BUC",)),
)
# How many customers each seller's book gets, relative to colleagues of the same store.
_BOOK_WEIGHT = {"associate.madrid@example.com": 5, "associate.bucharest@example.com": 4}

# Names by origin: (female first names, male first names, surnames).
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "es": (
        ("María", "Carmen", "Lucía", "Ana", "Isabel", "Laura", "Marta", "Elena", "Sofía", "Paula",
         "Cristina", "Pilar", "Rocío", "Inés", "Beatriz", "Raquel", "Begoña", "Mónica", "Verónica",
         "Celia", "María José", "Ángela", "Nerea", "Irene"),
        ("José", "Juan", "Antonio", "Manuel", "Francisco", "Javier", "Carlos", "Miguel", "Alejandro",
         "Álvaro", "Sergio", "Pablo", "Raúl", "Andrés", "Rubén", "Íñigo", "Adrián", "Jesús", "Óscar",
         "Tomás", "Ramón", "Víctor", "Hugo", "Gonzalo"),
        ("García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz",
         "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Núñez", "Peña", "Gutiérrez",
         "Ramírez", "Torres", "Domínguez", "Vázquez", "Castaño", "Ibáñez", "Rodríguez", "Fernández",
         "González", "Iglesias", "Ortiz", "Santamaría", "Benítez", "Cañete"),
    ),
    "ca": (
        ("Montserrat", "Núria", "Laia", "Mireia", "Meritxell", "Anna", "Queralt", "Gemma", "Aina",
         "Carla", "Clàudia", "Júlia", "Roser", "Neus", "Marta", "Berta", "Mercè", "Ariadna"),
        ("Jordi", "Pere", "Joan", "Josep", "Marc", "Pau", "Oriol", "Arnau", "Xavier", "Roger",
         "Martí", "Ferran", "Sergi", "Àlex", "Èric", "Quim", "Guillem", "Bernat"),
        ("Puig", "Vilaseca", "Ferrer", "Soler", "Vila", "Casals", "Serra", "Font", "Pujol", "Roca",
         "Bosch", "Mas", "Riera", "Camps", "Sala", "Vidal", "Castells", "Prat", "Rovira", "Batlle",
         "Comas", "Pagès", "Sabaté", "Fàbregas", "Vallès", "Duran", "Güell", "Bonet", "Canals",
         "Coll"),
    ),
    "ro": (
        ("Ioana", "Maria", "Elena", "Andreea", "Alexandra", "Ana-Maria", "Mihaela", "Cristina",
         "Gabriela", "Raluca", "Roxana", "Oana", "Bianca", "Irina", "Larisa", "Ștefania", "Simona",
         "Alina", "Daniela", "Luminița", "Georgiana", "Teodora"),
        ("Ionuț", "Ștefan", "Andrei", "Mihai", "Alexandru", "Bogdan", "Cristian", "Florin",
         "Gheorghe", "Radu", "Vlad", "Răzvan", "Dănuț", "Mircea", "Sorin", "Tudor", "Cătălin",
         "Marius", "Adrian", "Costin"),
        ("Popescu", "Dumitrescu", "Ionescu", "Popa", "Pop", "Radu", "Stan", "Stoica", "Munteanu",
         "Constantin", "Gheorghiu", "Rusu", "Matei", "Ciobanu", "Lungu", "Moldovan", "Nistor",
         "Mureșan", "Diaconu", "Țurcanu", "Șerban", "Crăciun", "Bălan", "Căpraru", "Niculescu",
         "Vasilescu", "Tănase", "Enache", "Dobre", "Andrieș"),
    ),
    "en": (
        ("Emily", "Olivia", "Sophie", "Charlotte", "Amelia", "Grace", "Hannah", "Jessica", "Sarah",
         "Emma", "Chloe", "Lucy", "Rebecca", "Megan"),
        ("James", "Oliver", "Thomas", "William", "Harry", "Jack", "George", "Daniel", "Michael",
         "David", "Samuel", "Edward", "Liam", "Matthew"),
        ("Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
         "Johnson", "Roberts", "Walker", "Wright", "Robinson", "Thompson", "O'Brien", "Hughes",
         "Green", "Clarke", "Hall", "Murphy", "Kelly", "MacLeod"),
    ),
}

# Name origin mix per home store.
_ORIGIN_MIX: dict[str, tuple[tuple[str, int], ...]] = {
    "MAD": (("es", 82), ("ca", 4), ("ro", 4), ("en", 10)),
    "BCN": (("ca", 50), ("es", 38), ("ro", 2), ("en", 10)),
    "BUC": (("ro", 88), ("en", 10), ("es", 2)),
}
_STORE_MIX = (("MAD", 40), ("BCN", 32), ("BUC", 28))

_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

_COLORS = ("black", "navy", "white", "camel", "grey", "beige", "olive", "burgundy", "cream",
           "charcoal", "terracotta", "emerald", "sky blue", "blush", "mustard")
_BRANDS = ("Atelier Norte", "Casa Brava", "Vela", "Marea", "Lumen", "Carpați Studio", "Olivo",
           "Bruma", "Solana", "North & Pine", "Dunărea", "Mistral")
_STYLES = ("classic", "minimal", "casual", "business", "streetwear", "bohemian", "sporty",
           "evening", "tailored", "vintage")
_TAGS = ("gift-buyer", "tourist", "corporate", "online-first", "event-invite", "newsletter",
         "returns-often", "birthday-club", "wedding", "early-adopter", "alterations", "press")
_TOP_SIZES = ("XS", "S", "M", "L", "XL", "XXL")

# Small product catalogue: (sku, name, price in EUR).
_CATALOGUE: tuple[tuple[str, str, Decimal], ...] = tuple(
    (sku, name, Decimal(price))
    for sku, name, price in (
        ("TSH-001", "Organic cotton T-shirt", "29.95"),
        ("TSH-002", "Linen crew-neck T-shirt", "39.95"),
        ("SHI-010", "Oxford shirt", "59.95"),
        ("SHI-011", "Silk blouse", "89.00"),
        ("KNT-020", "Merino wool sweater", "79.95"),
        ("KNT-021", "Cashmere cardigan", "189.00"),
        ("TRS-030", "Tailored wool trousers", "99.95"),
        ("TRS-031", "Slim-fit chinos", "59.95"),
        ("DNM-040", "Straight-leg jeans", "69.95"),
        ("DRS-050", "Midi wrap dress", "119.00"),
        ("DRS-051", "Evening satin dress", "229.00"),
        ("JKT-060", "Unstructured blazer", "169.00"),
        ("JKT-061", "Leather biker jacket", "349.00"),
        ("COA-070", "Double-breasted wool coat", "299.00"),
        ("COA-071", "Lightweight trench coat", "199.00"),
        ("SHO-080", "Leather loafers", "129.00"),
        ("SHO-081", "Suede ankle boots", "159.00"),
        ("SHO-082", "Canvas sneakers", "69.95"),
        ("BAG-090", "Leather tote bag", "149.00"),
        ("BAG-091", "Crossbody bag", "99.00"),
        ("ACC-100", "Silk scarf", "49.95"),
        ("ACC-101", "Leather belt", "45.00"),
        ("ACC-102", "Wool beanie", "25.95"),
        ("ACC-103", "Sunglasses", "89.95"),
        ("ACC-104", "Gift card", "50.00"),
    )
)
_RON_PER_EUR = Decimal("4.97")

# Loyalty tiers by points (lowest threshold first).
_TIERS: tuple[tuple[str, int], ...] = (("member", 0), ("silver", 800), ("gold", 2000), ("platinum", 4500))

# Consent notice versions: (version, effective date). Each is published in every language for
# every purpose on its effective date; a consent record points at the version in force.
_POLICIES: tuple[tuple[str, dt.date], ...] = (
    ("2023-03", dt.date(2023, 3, 1)),
    ("2024-01", dt.date(2024, 1, 15)),
    ("2025-06", dt.date(2025, 6, 1)),
)
_NOTICE_LANGUAGES = ("es", "ca", "ro", "en")
# What the customer is asked, per language and purpose.
_NOTICE_ASK: dict[str, dict[str, str]] = {
    "es": {
        "marketing_email": "Acepto recibir por correo electrónico novedades, invitaciones a eventos y ofertas de la tienda.",
        "marketing_sms": "Acepto recibir por SMS avisos de novedades, rebajas y ofertas de la tienda.",
        "push_notifications": "Acepto recibir notificaciones push sobre mis puntos, mi nivel de fidelidad y mis recompensas.",
        "personalization": "Acepto que la tienda guarde mis tallas y preferencias para asesorarme de forma personalizada en tienda y en línea.",
        "in_store_recognition": "Acepto que el personal de la tienda reciba un aviso cuando llegue, para atenderme de forma personalizada.",
        "third_party_sharing": "Acepto que la tienda comparta mis datos de contacto con marcas colaboradoras para que me envíen sus ofertas.",
    },
    "ca": {
        "marketing_email": "Accepto rebre per correu electrònic novetats, invitacions a esdeveniments i ofertes de la botiga.",
        "marketing_sms": "Accepto rebre per SMS avisos de novetats, rebaixes i ofertes de la botiga.",
        "push_notifications": "Accepto rebre notificacions push sobre els meus punts, el meu nivell de fidelitat i les meves recompenses.",
        "personalization": "Accepto que la botiga desi les meves talles i preferències per assessorar-me de manera personalitzada a la botiga i en línia.",
        "in_store_recognition": "Accepto que el personal de la botiga rebi un avís quan arribi, per atendre'm de manera personalitzada.",
        "third_party_sharing": "Accepto que la botiga comparteixi les meves dades de contacte amb marques col·laboradores perquè m'enviïn les seves ofertes.",
    },
    "ro": {
        "marketing_email": "Sunt de acord să primesc prin e-mail noutăți, invitații la evenimente și oferte de la magazin.",
        "marketing_sms": "Sunt de acord să primesc prin SMS anunțuri despre noutăți, reduceri și oferte ale magazinului.",
        "push_notifications": "Sunt de acord să primesc notificări push despre punctele mele, nivelul de fidelitate și recompense.",
        "personalization": "Sunt de acord ca magazinul să păstreze mărimile și preferințele mele, pentru a mă consilia personalizat în magazin și online.",
        "in_store_recognition": "Sunt de acord ca personalul magazinului să fie anunțat la sosirea mea, pentru a mă servi personalizat.",
        "third_party_sharing": "Sunt de acord ca datele mele de contact să fie transmise mărcilor partenere, pentru a-mi trimite ofertele lor.",
    },
    "en": {
        "marketing_email": "I agree to receive news, event invitations and offers from the store by email.",
        "marketing_sms": "I agree to receive text messages about new arrivals, sales and offers from the store.",
        "push_notifications": "I agree to receive push notifications about my points, loyalty tier and rewards.",
        "personalization": "I agree that the store keeps my sizes and preferences to give me personal advice in store and online.",
        "in_store_recognition": "I agree that store staff are alerted when I arrive, so that they can look after me personally.",
        "third_party_sharing": "I agree that my contact details are shared with partner brands so that they can send me their offers.",
    },
}
# The heading and how to withdraw; from 2025-06 the app is a way to withdraw too.
_NOTICE_HEADING = {
    "es": "Aviso de privacidad, versión {version}",
    "ca": "Avís de privacitat, versió {version}",
    "ro": "Notă de informare, versiunea {version}",
    "en": "Privacy notice, version {version}",
}
_NOTICE_WITHDRAW = {
    "es": ("Puede retirar su consentimiento en cualquier momento en tienda o escribiendo a privacidad@clienteling.example, sin que ello afecte a la licitud del tratamiento anterior.",
           "Puede retirar su consentimiento en cualquier momento en tienda, desde la app o escribiendo a privacidad@clienteling.example, sin que ello afecte a la licitud del tratamiento anterior."),
    "ca": ("Podeu retirar el consentiment en qualsevol moment a la botiga o escrivint a privacitat@clienteling.example, sense que això afecti la licitud del tractament anterior.",
           "Podeu retirar el consentiment en qualsevol moment a la botiga, des de l'app o escrivint a privacitat@clienteling.example, sense que això afecti la licitud del tractament anterior."),
    "ro": ("Vă puteți retrage consimțământul oricând, în magazin sau scriind la confidentialitate@clienteling.example, fără a afecta legalitatea prelucrării anterioare.",
           "Vă puteți retrage consimțământul oricând, în magazin, din aplicație sau scriind la confidentialitate@clienteling.example, fără a afecta legalitatea prelucrării anterioare."),
    "en": ("You can withdraw your consent at any time in store or by writing to privacy@clienteling.example, without affecting the lawfulness of earlier processing.",
           "You can withdraw your consent at any time in store, in the app or by writing to privacy@clienteling.example, without affecting the lawfulness of earlier processing."),
}
_CONSENT_CHANNELS = (("store_tablet", 55), ("web", 20), ("app", 15), ("import", 10))
_EVIDENCE = {
    "store_tablet": "Signed on the store tablet",
    "web": "Checkbox on the web account page (double opt-in confirmed)",
    "app": "Toggle in the mobile app settings",
    "import": "Imported from the legacy CRM",
}
# Probability that a customer grants each purpose at some point.
_GRANT_RATE = {
    "personalization": 0.9,
    "marketing_email": 0.6,
    "marketing_sms": 0.3,
    "push_notifications": 0.25,
    "in_store_recognition": 0.35,
    "third_party_sharing": 0.05,
}
_WITHDRAW_RATE = 0.12
# What the demo member has granted (and never withdrawn).
_MEMBER_GRANTS = ("personalization", "push_notifications", "in_store_recognition", "marketing_email")

_MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "ca": ("gener", "febrer", "març", "abril", "maig", "juny", "juliol", "agost", "setembre",
           "octubre", "novembre", "desembre"),
    "ro": ("ianuarie", "februarie", "martie", "aprilie", "mai", "iunie", "iulie", "august",
           "septembrie", "octombrie", "noiembrie", "decembrie"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
_NOTE_TEMPLATES = {
    "es": (
        "Prefiere una llamada antes de que le reservemos prendas.",
        "Busca un conjunto para una boda en {month}.",
        "Talla de zapato {shoe}; en botas, media talla más.",
        "Suele venir los sábados por la mañana; mejor con cita.",
        "Le encantó el servicio de arreglos; volver a ofrecérselo.",
        "Compra regalos para su familia en Navidad; avisar de las novedades en noviembre.",
        "Alergia a la lana: evitar sugerencias de punto.",
        "Le interesa la nueva colección de abrigos; enviarle fotos por WhatsApp.",
    ),
    "ca": (
        "Prefereix que li truquem abans de reservar-li peces.",
        "Busca un vestit per a un casament aquest {month}.",
        "Talla de sabata {shoe}; de vegades compra en línia.",
        "Ve sovint amb la seva filla; molt fidel a la botiga.",
        "Vol veure la col·lecció de tardor abans que ningú.",
        "Li va agradar molt el servei d'arranjaments; tornar-l'hi a oferir.",
        "Aniversari al {month}: preparar un detall.",
    ),
    "ro": (
        "Preferă un telefon înainte de rezervarea produselor.",
        "Caută o ținută pentru o nuntă în {month}.",
        "Mărimea la pantofi {shoe}; uneori cumpără online.",
        "Vine de obicei sâmbăta dimineața; de preferat cu programare.",
        "A apreciat serviciul de ajustări; oferiți-l din nou.",
        "Dorește să vadă noua colecție de paltoane; trimiteți fotografii.",
        "Ziua de naștere în {month}: pregătiți o surpriză.",
    ),
    "en": (
        "Prefers a call before we hold items.",
        "Looking for an outfit for a wedding in {month}.",
        "Shoe size {shoe}; sometimes buys online.",
        "Usually comes in on Saturday mornings; book an appointment.",
        "Appreciated the alterations service; offer it again.",
        "Visits from abroad twice a year; ships purchases home.",
        "Birthday in {month}: prepare a small gift.",
    ),
}


# ---------------------------------------------------------------------------------------------
# The plan: every row, generated before anything is written
# ---------------------------------------------------------------------------------------------


@dataclass
class _Seller:
    id: UUID
    email: str
    role: str
    stores: tuple[str, ...]


@dataclass
class _Plan:
    stores: list[Store] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    staff_stores: list[StaffStore] = field(default_factory=list)
    notices: list[ConsentNotice] = field(default_factory=list)
    # (version, language, purpose) -> the notice row, for linking consent records.
    notice_index: dict[tuple[str, str, str], ConsentNotice] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    consents: list[ConsentRecord] = field(default_factory=list)
    purchases: list[Purchase] = field(default_factory=list)
    lines: list[PurchaseLine] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def summary(self) -> SeedSummary:
        return SeedSummary(
            stores=len(self.stores), staff=len(self.staff), customers=len(self.customers),
            purchases=len(self.purchases), purchase_lines=len(self.lines), notes=len(self.notes),
            consents=len(self.consents), skipped=False, notices=len(self.notices),
        )


@dataclass
class _Person:
    """What later generators need to know about a customer."""

    id: UUID
    store: str
    language: str
    origin: str
    created_at: dt.datetime
    email: str | None
    phone: str | None
    shoe: str | None
    vip: bool
    primary: _Seller | None
    is_member: bool = False
    spend_eur: Decimal = Decimal(0)


class _Gen:
    """Deterministic generators sharing one random source."""

    def __init__(self, seed: int, now: dt.datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.start = now - dt.timedelta(days=3 * 365)
        self._emails: set[str] = set()
        self._loyalty: set[str] = set()
        self._purchase_no = 0

    # -- small helpers ---------------------------------------------------------------------

    def uuid(self) -> UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def pick(self, weighted: Sequence[tuple[Any, int]]) -> Any:
        values, weights = zip(*weighted, strict=True)
        return self.rng.choices(values, weights=weights)[0]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def moment_between(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        span = max(0.0, (hi - lo).total_seconds())
        return (lo + dt.timedelta(seconds=self.rng.uniform(0, span))).replace(microsecond=0)

    def shop_moment_between(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        """A moment during (roughly) opening hours, 08:00–19:59 UTC."""
        day = self.moment_between(lo, hi)
        moment = day.replace(hour=self.rng.randint(8, 19), minute=self.rng.randint(0, 59), second=self.rng.randint(0, 59))
        return min(max(moment, lo), hi)

    # -- people ----------------------------------------------------------------------------

    def name(self, origin: str) -> tuple[str, str, str]:
        """(first name, last name, gender) in the conventions of the origin."""
        female, male, surnames = _NAMES[origin]
        gender = "f" if self.chance(0.56) else "m"  # fashion clienteling skews female
        first = self.rng.choice(female if gender == "f" else male)
        last = self.rng.choice(surnames)
        if origin in ("es", "ca") and self.chance(0.55):
            second = self.rng.choice(surnames)
            if second != last:
                last = f"{last} {second}"
        return first, last, gender

    def email(self, first: str, last: str, birth_year: int | None) -> str:
        f = _ascii_slug(first)
        parts = [_ascii_slug(p) for p in last.split(" ")]
        surname = parts[0]
        style = self.rng.randrange(5)
        if style == 0:
            local = f"{f}.{surname}"
        elif style == 1:
            local = f"{f[0]}{surname}"
        elif style == 2 and birth_year:
            local = f"{f}.{surname}{birth_year % 100:02d}"
        elif style == 3 and len(parts) > 1:
            local = f"{f}.{surname}.{parts[1]}"
        else:
            local = f"{f}.{surname}.{self.rng.randint(1, 999)}"
        domain = self.rng.choice(_EMAIL_DOMAINS)
        candidate = f"{local}@{domain}"
        n = 1
        while candidate in self._emails or candidate == DEMO_MEMBER_EMAIL:
            n += 1
            candidate = f"{local}{n}@{domain}"
        self._emails.add(candidate)
        return candidate

    def phone(self, country: str, origin: str) -> str:
        r = self.rng.randint
        if origin == "en" and self.chance(0.3):
            return f"+44 7{r(100, 999)} {r(100000, 999999)}"
        if country == "RO":
            return f"+40 7{r(20, 99)} {r(100, 999)} {r(100, 999)}"
        return f"+34 6{r(0, 99):02d} {r(0, 999):03d} {r(0, 999):03d}"

    def loyalty_number(self) -> str:
        while True:
            number = f"CL{self.rng.randint(10_000_000, 99_999_999)}"
            if number not in self._loyalty:
                self._loyalty.add(number)
                return number

    def sizes(self, gender: str) -> tuple[dict[str, str], str | None]:
        if self.chance(0.12):
            return {}, None
        top_index = min(5, max(0, round(self.rng.gauss(2.0 if gender == "f" else 2.8, 1.0))))
        shoe = str(self.rng.randint(35, 41) if gender == "f" else self.rng.randint(39, 46))
        trousers = str(self.rng.choice((34, 36, 38, 40, 42, 44)) if gender == "f" else self.rng.choice((38, 40, 42, 44, 46, 48, 50)))
        sizes = {"top": _TOP_SIZES[top_index], "shoe": shoe, "trousers": trousers}
        if gender == "f" and self.chance(0.6):
            sizes["dress"] = trousers
        if gender == "m" and self.chance(0.4):
            sizes["suit"] = str(int(trousers) + 8)
        for key in list(sizes):
            if key != "top" and self.chance(0.15):
                del sizes[key]
        return sizes, sizes.get("shoe")

    def preferences(self) -> dict[str, list[str]]:
        prefs: dict[str, list[str]] = {}
        if self.chance(0.8):
            prefs["colors"] = self.rng.sample(_COLORS, self.rng.randint(1, 4))
        if self.chance(0.6):
            prefs["brands"] = self.rng.sample(_BRANDS, self.rng.randint(1, 3))
        if self.chance(0.7):
            prefs["styles"] = self.rng.sample(_STYLES, self.rng.randint(1, 2))
        return prefs

    def next_purchase_no(self) -> int:
        self._purchase_no += 1
        return self._purchase_no


def _ascii_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text))


def _policy_version(at: dt.datetime) -> str:
    current = _POLICIES[0][0]
    for version, since in _POLICIES:
        if at.date() >= since:
            current = version
    return current


def _tier(points: int) -> str:
    tier = _TIERS[0][0]
    for name, threshold in _TIERS:
        if points >= threshold:
            tier = name
    return tier


def _price(eur: Decimal, currency: str) -> Decimal:
    if currency == "EUR":
        return eur
    # Local price points: whole lei minus one ban (e.g. 148.99).
    return (eur * _RON_PER_EUR).quantize(Decimal("1")) - Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# Generators, one per kind of row
# ---------------------------------------------------------------------------------------------


def _stores(plan: _Plan, now: dt.datetime) -> None:
    opened = now - dt.timedelta(days=4 * 365)
    for s in _STORES:
        plan.stores.append(Store(id=s.id, code=s.code, name=s.name, city=s.city, country=s.country, timezone=s.timezone, created_at=opened))


def _staff(plan: _Plan, password_hash: str, now: dt.datetime) -> list[_Seller]:
    created = now - dt.timedelta(days=3 * 365 + 30)
    sellers: list[_Seller] = []
    for email, display_name, role, codes in _STAFF:
        staff_id = uuid.uuid5(_NAMESPACE, f"staff:{email}")
        plan.staff.append(Staff(id=staff_id, email=email, display_name=display_name, role=role, password_hash=password_hash, active=True, created_at=created, updated_at=created))
        for code in codes:
            plan.staff_stores.append(StaffStore(id=uuid.uuid5(_NAMESPACE, f"staff-store:{email}:{code}"), staff=staff_id, store=_STORE_BY_CODE[code].id))
        sellers.append(_Seller(staff_id, email, role, codes))
    return sellers


def _notice_text(version: str, language: str, purpose: str) -> str:
    withdraw = _NOTICE_WITHDRAW[language][1 if version >= "2025-06" else 0]
    heading = _NOTICE_HEADING[language].format(version=version)
    return f"{heading}\n\n{_NOTICE_ASK[language][purpose]} {withdraw}"


def _notices(plan: _Plan, sellers: list[_Seller]) -> None:
    """Every purpose in every language for every version, published by compliance on the
    version's effective date."""
    publisher = next(s.id for s in sellers if s.role == "compliance_officer")
    for version, since in _POLICIES:
        published_at = dt.datetime.combine(since, dt.time(0, 0), tzinfo=dt.timezone.utc)
        for language in _NOTICE_LANGUAGES:
            for purpose in PURPOSES:
                text = _notice_text(version, language, purpose)
                notice = ConsentNotice(
                    id=uuid.uuid5(_NAMESPACE, f"notice:{purpose}:{version}:{language}"), purpose=purpose,
                    version=version, language=language, text=text, sha256=notice_sha256(text),
                    published_at=published_at, published_by=publisher,
                )
                plan.notices.append(notice)
                plan.notice_index[(version, language, purpose)] = notice


def _customers(plan: _Plan, gen: _Gen, count: int, sellers: list[_Seller]) -> list[_Person]:
    associates = {
        s.code: [x for x in sellers if x.role == "associate" and x.stores == (s.code,)] for s in _STORES
    }
    managers = {
        s.code: [x for x in sellers if x.role == "store_manager" and x.stores == (s.code,)] for s in _STORES
    }
    people: list[_Person] = []
    member_index = None
    for i in range(count):
        code = gen.pick(_STORE_MIX)
        origin = gen.pick(_ORIGIN_MIX[code])
        is_member = member_index is None and code == "MAD" and origin == "es"
        if is_member:
            member_index = i
        people.append(_customer(plan, gen, code, origin, associates[code], managers[code], is_member))
    return people


def _customer(plan: _Plan, gen: _Gen, code: str, origin: str, associates: list[_Seller], managers: list[_Seller], is_member: bool) -> _Person:
    store = _STORE_BY_CODE[code]
    first, last, gender = gen.name(origin)
    language = origin
    if origin == "ca" and code != "BCN" and gen.chance(0.5):
        language = "es"
    elif origin == "ro" and store.country == "ES" and gen.chance(0.3):
        language = "es"
    birthdate = None
    if not gen.chance(0.05):
        birthdate = dt.date(1950, 1, 1) + dt.timedelta(days=gen.rng.randint(0, (dt.date(2006, 12, 31) - dt.date(1950, 1, 1)).days))
    email: str | None = gen.email(first, last, birthdate.year if birthdate else None) if not gen.chance(0.08) else None
    phone: str | None = gen.phone(store.country, origin) if not gen.chance(0.12) else None
    sizes, shoe = gen.sizes(gender)
    created_at = gen.moment_between(gen.start, gen.now - dt.timedelta(days=1))
    vip = gen.chance(0.08)
    primary = secondary = None
    if is_member:
        email = DEMO_MEMBER_EMAIL
        phone = phone or gen.phone(store.country, origin)
        created_at = gen.start + dt.timedelta(days=20)
        primary = next(a for a in associates if a.email == "associate.madrid@example.com")
    elif associates and gen.chance(0.6 + (0.3 if vip else 0.0)):
        primary = gen.rng.choices(associates, weights=[_BOOK_WEIGHT.get(a.email, 2) for a in associates])[0]
    if primary is not None and gen.chance(0.15):
        others = [a for a in associates + managers if a.id != primary.id]
        secondary = gen.rng.choice(others) if others else None
    person = _Person(
        id=gen.uuid(), store=code, language=language, origin=origin, created_at=created_at,
        email=email, phone=phone, shoe=shoe, vip=vip, primary=primary, is_member=is_member,
    )
    tags = gen.rng.sample(_TAGS, gen.rng.choice((0, 0, 1, 1, 2, 3)))
    if vip:
        tags.insert(0, "vip-event")
    plan.customers.append(Customer(
        id=person.id, first_name=first, last_name=last, email=email, phone=phone,
        birthdate=birthdate, language=language, home_store=store.id,
        birth_mmdd=birthdate.month * 100 + birthdate.day if birthdate else None,
        primary_associate=primary.id if primary else None,
        secondary_associate=secondary.id if secondary else None,
        sizes=sizes, preferences=gen.preferences(), tags=tags, vip=vip,
        # Loyalty number, tier and points are filled in once purchases are known.
        loyalty_number=gen.loyalty_number() if is_member or not gen.chance(0.1) else None,
        loyalty_tier="member", loyalty_points=0,
        name_key=name_key(first, last), email_key=normalize_email(email), phone_key=phone_digits(phone),
        version=1, created_at=created_at, updated_at=created_at, deleted_at=None,
    ))
    return person


def _purchases(plan: _Plan, gen: _Gen, people: list[_Person], mean: float = 5.0) -> None:
    vip_boost = 2.5
    # Keep the overall average near ``mean`` although VIPs and long-standing customers buy
    # more (0.9 is the average of the recency factor below).
    base = mean / (0.92 + 0.08 * vip_boost) / 0.9
    for person in people:
        expected = base * (vip_boost if person.vip else 1.0)
        # Recent customers have had less time to buy.
        expected *= min(1.0, 0.25 + (gen.now - person.created_at).days / 365)
        count = round(gen.rng.gammavariate(1.6, expected / 1.6))
        if person.is_member:
            count = max(count, 6)
        for _ in range(count):
            _purchase(plan, gen, person)


def _purchase(plan: _Plan, gen: _Gen, person: _Person) -> None:
    home = _STORE_BY_CODE[person.store]
    online = gen.chance(0.25)
    if online:
        store = None
        currency = home.currency
        occurred_at = gen.moment_between(person.created_at, gen.now)
    else:
        store = home
        if home.country == "ES" and gen.chance(0.08):
            store = _STORE_BY_CODE["BCN" if home.code == "MAD" else "MAD"]
        currency = store.currency
        occurred_at = gen.shop_moment_between(person.created_at, gen.now)
    number = gen.next_purchase_no()
    purchase_id = gen.uuid()
    total = Decimal("0.00")
    for sku, name, eur in gen.rng.sample(_CATALOGUE, gen.pick(((1, 55), (2, 28), (3, 12), (4, 5)))):
        quantity = 2 if gen.chance(0.1) else 1
        unit_price = _price(eur, currency)
        total += unit_price * quantity
        plan.lines.append(PurchaseLine(id=gen.uuid(), purchase=purchase_id, sku=sku, name=name, quantity=quantity, unit_price=unit_price))
    total = total.quantize(Decimal("0.01"))
    person.spend_eur += total if currency == "EUR" else total / _RON_PER_EUR
    plan.purchases.append(Purchase(
        id=purchase_id, external_id=f"demo-{'web' if online else 'pos'}-{number}", customer=person.id,
        store=store.id if store else None, channel="online" if online else "store",
        occurred_at=occurred_at, currency=currency, total=total, created_at=occurred_at,
    ))


def _loyalty(plan: _Plan, gen: _Gen, people: list[_Person]) -> None:
    """Points from spend (one per euro, less what was redeemed); the tier follows the points.
    Also the figures client-book filters use: lifetime value (EUR) and the last purchase."""
    last_purchase: dict[UUID, dt.datetime] = {}
    for purchase in plan.purchases:
        if purchase.customer not in last_purchase or purchase.occurred_at > last_purchase[purchase.customer]:
            last_purchase[purchase.customer] = purchase.occurred_at
    for row, person in zip(plan.customers, people, strict=True):
        row.lifetime_value = person.spend_eur.quantize(Decimal("0.01"))
        row.last_purchase_at = last_purchase.get(person.id)
        if row.loyalty_number is None:
            continue
        points = int(person.spend_eur * Decimal(str(gen.rng.uniform(0.55, 1.0))))
        if person.is_member:
            points = max(points, 2400)
        row.loyalty_points = points
        row.loyalty_tier = _tier(points)


def _consents(plan: _Plan, gen: _Gen, people: list[_Person]) -> None:
    for person in people:
        for purpose, rate in _GRANT_RATE.items():
            if person.is_member:
                if purpose in _MEMBER_GRANTS:
                    later = dt.timedelta(days=0 if purpose == "personalization" else 400)
                    _consent(plan, gen, person, purpose, "granted", person.created_at + later)
                continue
            if purpose == "marketing_email" and person.email is None or purpose == "marketing_sms" and person.phone is None:
                continue
            if gen.chance(rate):
                granted_at = person.created_at
                if purpose != "personalization" and gen.chance(0.4):
                    granted_at = gen.moment_between(person.created_at, gen.now)
                _consent(plan, gen, person, purpose, "granted", granted_at)
                if gen.chance(_WITHDRAW_RATE):
                    _consent(plan, gen, person, purpose, "withdrawn", gen.moment_between(granted_at + dt.timedelta(hours=1), gen.now))
            elif gen.chance(0.25):
                _consent(plan, gen, person, purpose, "denied", person.created_at)


def _consent(plan: _Plan, gen: _Gen, person: _Person, purpose: str, status: str, at: dt.datetime) -> None:
    channel = "store_tablet" if person.is_member else gen.pick(_CONSENT_CHANNELS)
    if status == "withdrawn" and channel == "import":
        channel = "web"
    in_store = channel == "store_tablet"
    store = _STORE_BY_CODE[person.store]
    notice = plan.notice_index[(_policy_version(at), person.language, purpose)]
    plan.consents.append(ConsentRecord(
        id=gen.uuid(), customer=person.id, purpose=purpose, status=status, occurred_at=at,
        expires_at=None, legal_basis="consent", channel=channel,
        collected_by=person.primary.id if in_store and person.primary else None,
        store=store.id if in_store else None,
        device_id=f"demo-tablet-{store.code.lower()}-{gen.rng.randint(1, 3)}" if in_store else None,
        policy_version=notice.version, notice_sha256=notice.sha256, notice=notice.id,
        language=notice.language, evidence=_EVIDENCE[channel],
        # Tablets that were offline sync a little later.
        recorded_at=at + dt.timedelta(minutes=gen.rng.choice((0, 0, 0, 2, 45))) if in_store else at,
    ))


def _notes(plan: _Plan, gen: _Gen, people: list[_Person], sellers: list[_Seller]) -> None:
    writers = {s.code: [x for x in sellers if x.role in ("associate", "store_manager") and x.stores == (s.code,)] for s in _STORES}
    for person in people:
        if not (person.is_member or gen.chance(0.3)):
            continue
        templates = _NOTE_TEMPLATES[person.language]
        for template in gen.rng.sample(templates, gen.rng.randint(1, 3)):
            author = person.primary if person.primary and gen.chance(0.7) else gen.rng.choice(writers[person.store])
            created_at = gen.moment_between(person.created_at, gen.now)
            updated_at = created_at if gen.chance(0.8) else gen.moment_between(created_at, gen.now)
            body = template.format(month=gen.rng.choice(_MONTHS[person.language]), shoe=person.shoe or "39")
            plan.notes.append(Note(
                id=gen.uuid(), customer=person.id, author=author.id, body=body,
                pinned=gen.chance(0.15), visibility="private" if gen.chance(0.06) else "shared",
                created_at=created_at, updated_at=updated_at, deleted_at=None,
            ))


def _build(password_hash: str, customers: int, seed: int, now: dt.datetime) -> _Plan:
    plan = _Plan()
    gen = _Gen(seed, now)
    _stores(plan, now)
    sellers = _staff(plan, password_hash, now)
    _notices(plan, sellers)
    people = _customers(plan, gen, customers, sellers)
    _purchases(plan, gen, people)
    _loyalty(plan, gen, people)
    _consents(plan, gen, people)
    _notes(plan, gen, people, sellers)
    return plan


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _max_variables() -> int:
    """Bound parameters one statement may carry on the bound engine."""
    if isinstance(db.current_engine(), SQLiteEngine):
        return 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
    return 32_767  # asyncpg / PostgreSQL protocol limit


async def _insert(table: type[Table], rows: list[Any], *, max_rows: int = 500) -> None:
    if not rows:
        return
    per_statement = max(1, min(max_rows, _max_variables() // len(table._meta.columns)))
    for start in range(0, len(rows), per_statement):
        await table.insert(*rows[start:start + per_statement]).run()


async def _already_seeded() -> bool:
    return await Store.exists().where(Store.code == _STORES[0].code).run()


async def _write(plan: _Plan) -> bool:
    """Insert the plan in one transaction; False when another seeder got there first."""
    async with db.transaction():
        if await _already_seeded():
            return False
        await _insert(Store, plan.stores)
        await _insert(Staff, plan.staff)
        await _insert(StaffStore, plan.staff_stores)
        await _insert(ConsentNotice, plan.notices)
        await _insert(Customer, plan.customers)
        await _insert(ConsentRecord, plan.consents)
        await _insert(Purchase, plan.purchases)
        await _insert(PurchaseLine, plan.lines)
        await _insert(Note, plan.notes)
    return True


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def _skipped() -> SeedSummary:
    return SeedSummary(stores=0, staff=0, customers=0, purchases=0, purchase_lines=0, notes=0, consents=0, skipped=True)


async def seed_demo(passwords: Passwords, *, customers: int = 3000, seed: int = 42) -> SeedSummary:
    """Load the demo data set into the bound (migrated) database, unless it is already there.

    All demo staff share the password :data:`DEMO_PASSWORD`, hashed once. Dates are relative
    to today (UTC midnight), everything else depends only on ``seed``.
    """
    if customers < 0:
        raise ValueError("customers must not be negative")
    if await _already_seeded():
        return _skipped()
    now = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    plan = _build(passwords.hash_sync(DEMO_PASSWORD), customers, seed, now)
    if not await _write(plan):
        return _skipped()
    return plan.summary()


async def demo_member_customer_id() -> UUID | None:
    """The demo loyalty member's customer id (``member@example.com``), if seeded."""
    row = (
        await Customer.select(Customer.id)
        .where((Customer.email_key == DEMO_MEMBER_EMAIL) & Customer.deleted_at.is_null())
        .first()
        .run()
    )
    return row["id"] if row else None
