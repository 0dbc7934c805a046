"""Demo data (SPEC §3): three stores, the demo staff logins and a realistic customer base.

``seed_demo`` fills an empty, migrated database with stores in Madrid, Barcelona and
Bucharest, the SPEC §3 staff logins (plus a few more sellers per store), and by default 3,000
customers with Spanish, Catalan, Romanian and English names and languages, sizes,
preferences, loyalty tiers and points, consent histories (each record linked to the consent
notice text in force when it was collected; every purpose is published in es/ca/ro/en for each
notice version), three years of store and online purchases, and seller notes; and the sellers' day-to-day
work around them: wishlists (about one customer in five), open, snoozed, overdue and completed
tasks (manual follow-ups and the automatic post-purchase and birthday ones, with the same
``source_ref`` the live generators use, so they are never raised twice), and appointments over
the past month and the next three weeks, inside the stores' opening hours (10:00-20:00 local
time, stored in UTC) and never overlapping for one seller. The derived customer figures
(``birth_mmdd``, ``last_purchase_at``, ``lifetime_value`` in EUR at the integration's rates)
agree with the rows they derive from.

Everything is generated up front from ``random.Random(seed)`` (no third-party fakers), then
written with chunked bulk inserts inside one transaction, so the same seed always produces the
same rows (dates are relative to the day of seeding). Store and staff ids are ``uuid5`` values
and therefore stable across runs. Seeding is idempotent: when the Madrid store already exists
nothing is written and the summary says ``skipped``.

The demo loyalty member is a Madrid customer with the email ``member@example.com`` who has
granted ``personalization``, ``push_notifications`` and ``in_store_recognition``.
``associate.madrid@example.com`` always has open tasks and upcoming appointments with clients
of her book.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sqlite3
import uuid
from zoneinfo import ZoneInfo
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
from clienteling.services.integrations import POST_PURCHASE_FOLLOW_UP
from clienteling.tables import (
    Appointment,
    ConsentNotice,
    ConsentRecord,
    Customer,
    Note,
    Purchase,
    PurchaseLine,
    Staff,
    StaffStore,
    Store,
    Task,
    WishlistItem,
)
from domain.consent import PURPOSES, notice_sha256
from domain.integrations import to_eur
from domain.text import fold, name_key, normalize_email, phone_digits
from domain.workflows import upcoming_birthday

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
    wishlist_items: int = 0
    tasks: int = 0
    appointments: int = 0


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


# Sellers write in their store's language.
_STORE_LANGUAGE = {"MAD": "es", "BCN": "ca", "BUC": "ro"}

# Which size of the customer's a product needs, by SKU prefix (bags and accessories: none).
_SIZE_KEY = {"TSH": "top", "SHI": "top", "KNT": "top", "JKT": "top", "COA": "top", "TRS": "trousers",
             "DNM": "trousers", "DRS": "dress", "SHO": "shoe"}
_SIZE_FALLBACK = {"top": _TOP_SIZES, "trousers": ("36", "38", "40", "42", "44"), "dress": ("36", "38", "40", "42"),
                  "shoe": tuple(str(n) for n in range(36, 45))}
# What can be wished for: the catalogue without the gift card.
_WISHABLE = tuple(p for p in _CATALOGUE if not p[0].startswith("ACC-104"))
_WISHLIST_NOTES = {
    "es": ("Avisar en cuanto llegue su talla.", "Es para un regalo de cumpleaños.", "Se lo probó en tienda; espera a las rebajas.",
           "Reservar una unidad cuando llegue el reparto."),
    "ca": ("Avisar quan arribi la seva talla.", "És per a un regal d'aniversari.", "S'ho va emprovar a la botiga; espera les rebaixes.",
           "Reservar-ne una unitat quan arribi la comanda."),
    "ro": ("Anunțați clientul când sosește mărimea.", "Este pentru un cadou de ziua de naștere.", "A probat produsul în magazin; așteaptă reducerile.",
           "Rezervați o bucată când sosește livrarea."),
}

# Manual follow-ups, as sellers type them ({first}: the customer's first name).
_FOLLOW_UP_TITLES = {
    "es": ("Llamar a {first} para presentarle la nueva colección", "Confirmar con {first} la recogida de los arreglos",
           "Enviar a {first} fotos de los abrigos nuevos", "Avisar a {first}: ha llegado su talla",
           "Invitar a {first} al evento privado de temporada", "Preguntar a {first} qué tal le quedó el vestido",
           "Proponer a {first} una cita para la selección de regalos"),
    "ca": ("Trucar a {first} per presentar-li la nova col·lecció", "Confirmar amb {first} la recollida dels arranjaments",
           "Enviar a {first} fotos dels abrics nous", "Avisar {first}: ha arribat la seva talla",
           "Convidar {first} a l'esdeveniment privat de temporada", "Preguntar a {first} com li va quedar el vestit"),
    "ro": ("{first}: prezentați noua colecție la telefon", "{first}: confirmați ridicarea ajustărilor",
           "{first}: trimiteți fotografii cu paltoanele noi", "{first}: anunțați sosirea mărimii dorite",
           "{first}: invitație la evenimentul privat al sezonului", "{first}: întrebați cum i-a venit rochia"),
}
_POST_PURCHASE_TITLE = "Post-purchase follow-up"  # as services.integrations names it

# Appointments: opening hours (local time of the store), channels, and what they are about.
_OPEN_FROM, _OPEN_UNTIL = 10 * 60, 20 * 60  # minutes after local midnight
_APPOINTMENT_CHANNELS = (("in_store", 70), ("video", 15), ("phone", 15))
_APPOINTMENT_MINUTES = {"in_store": ((30, 2), (45, 3), (60, 4), (90, 2)), "video": ((30, 3), (45, 2)), "phone": ((15, 2), (30, 3))}
_PAST_STATUSES = (("held", 66), ("no_show", 8), ("cancelled", 14), ("booked", 12))  # booked: outcome not recorded yet
_UPCOMING_STATUSES = (("booked", 90), ("cancelled", 10))
_APPOINTMENT_NOTES = {
    "es": ("Prueba del vestido de fiesta.", "Quiere ver la nueva colección de abrigos.", "Recoger los arreglos del traje.",
           "Asesoramiento para una boda.", "Selección de regalos de Navidad."),
    "ca": ("Emprovar el vestit de festa.", "Vol veure la nova col·lecció d'abrics.", "Recollir els arranjaments del vestit.",
           "Assessorament per a un casament.", "Selecció de regals de Nadal."),
    "ro": ("Probă pentru rochia de seară.", "Dorește să vadă noua colecție de paltoane.", "Ridicarea costumului de la ajustări.",
           "Consiliere pentru o nuntă.", "Selecție de cadouri de Crăciun."),
}
_MADRID_ASSOCIATE = "associate.madrid@example.com"
# What the demo must always show her.
_MADRID_MIN_OPEN_TASKS = 5
_MADRID_MIN_UPCOMING = 3


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
    wishlist: list[WishlistItem] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)

    def summary(self) -> SeedSummary:
        return SeedSummary(
            stores=len(self.stores), staff=len(self.staff), customers=len(self.customers),
            purchases=len(self.purchases), purchase_lines=len(self.lines), notes=len(self.notes),
            consents=len(self.consents), skipped=False, notices=len(self.notices),
            wishlist_items=len(self.wishlist), tasks=len(self.tasks), appointments=len(self.appointments),
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
    # As the POS integration counts it (domain.integrations.to_eur), so lifetime_value agrees.
    person.spend_eur += to_eur(total, currency)
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


def _sellers_by_store(sellers: list[_Seller], roles: tuple[str, ...]) -> dict[str, list[_Seller]]:
    return {s.code: [x for x in sellers if x.role in roles and x.stores == (s.code,)] for s in _STORES}


def _personalization_allowed(plan: _Plan, now: dt.datetime) -> set[UUID]:
    """Customers whose latest personalization choice (as of ``now``) is a grant."""
    latest: dict[UUID, ConsentRecord] = {}
    for record in plan.consents:
        if record.purpose != "personalization" or record.occurred_at > now:
            continue
        seen = latest.get(record.customer)
        if seen is None or record.occurred_at >= seen.occurred_at:
            latest[record.customer] = record
    return {cid for cid, record in latest.items() if record.status == "granted"}


def _wishlists(plan: _Plan, gen: _Gen, people: list[_Person], sellers: list[_Seller]) -> None:
    """About one customer in five wishes for one to four catalogue products; sizes (only with
    the personalization consent) follow the customer's own, colours their taste; a quarter
    are fulfilled and a few were removed."""
    writers = _sellers_by_store(sellers, ("associate", "store_manager"))
    personal = _personalization_allowed(plan, gen.now)
    for person, row in zip(people, plan.customers, strict=True):
        if not (person.is_member or gen.chance(0.2)):
            continue
        colours = row.preferences.get("colors") or []
        since = max(person.created_at, gen.now - dt.timedelta(days=540))
        for sku, name, _ in gen.rng.sample(_WISHABLE, gen.pick(((1, 45), (2, 30), (3, 17), (4, 8)))):
            key = _SIZE_KEY.get(sku[:3])
            size = None
            if key is not None and person.id in personal:
                size = row.sizes.get(key) or gen.rng.choice(_SIZE_FALLBACK[key])
            colour = None
            if not sku.startswith("ACC-103") and gen.chance(0.85):
                colour = gen.rng.choice(colours) if colours and gen.chance(0.7) else gen.rng.choice(_COLORS)
            if gen.chance(0.15):
                added_by = None  # wished for in the app or on the web
            elif person.primary is not None and gen.chance(0.75):
                added_by = person.primary.id
            else:
                added_by = gen.rng.choice(writers[person.store]).id
            created_at = gen.moment_between(since, gen.now)
            fulfilled_at = deleted_at = None
            if gen.chance(0.25):
                fulfilled_at = gen.moment_between(created_at, gen.now)
            elif gen.chance(0.05):
                deleted_at = gen.moment_between(created_at, gen.now)
            notes = gen.rng.choice(_WISHLIST_NOTES[_STORE_LANGUAGE[person.store]]) if added_by and gen.chance(0.3) else None
            plan.wishlist.append(WishlistItem(
                id=gen.uuid(), customer=person.id, sku=sku, product_name=name, size=size, colour=colour, notes=notes,
                added_by=added_by, fulfilled_at=fulfilled_at, created_at=created_at,
                updated_at=fulfilled_at or deleted_at or created_at, deleted_at=deleted_at,
            ))


def _local_midnight(date: dt.date, store: str) -> dt.datetime:
    zone = ZoneInfo(_STORE_BY_CODE[store].timezone)
    return dt.datetime.combine(date, dt.time(0, 0), tzinfo=zone).astimezone(dt.timezone.utc)


class _TaskMaker:
    """Builds task rows whose state (done, snoozed, open or overdue) is drawn around ``now``."""

    def __init__(self, plan: _Plan, gen: _Gen) -> None:
        self.plan = plan
        self.gen = gen

    def add(
        self, person: _Person, assignee: _Seller, *, kind: str, title: str, due_at: dt.datetime, created_at: dt.datetime,
        source_ref: str | None = None, created_by: UUID | None = None, done_rate: float = 0.0, snooze_rate: float = 0.2,
    ) -> Task:
        gen, now = self.gen, self.gen.now
        created_at = min(created_at, now)
        completed_at = snoozed_until = None
        updated_at = created_at
        if gen.chance(done_rate):
            if due_at <= now and gen.chance(0.75):  # on time
                completed_at = gen.moment_between(max(created_at, due_at - dt.timedelta(days=2)), due_at)
            else:
                completed_at = gen.moment_between(max(created_at, due_at - dt.timedelta(days=1)), min(now, due_at + dt.timedelta(days=3)))
            completed_at = min(max(completed_at, created_at), now)
            updated_at = completed_at
        elif due_at <= now + dt.timedelta(days=2) and gen.chance(snooze_rate):
            # Put off until a morning in the next few days.
            snoozed_until = now + dt.timedelta(days=gen.rng.randint(1, 5), hours=gen.rng.choice((7, 8, 9)))
            updated_at = gen.moment_between(max(created_at, now - dt.timedelta(days=2)), now)
        row = Task(
            id=gen.uuid(), customer=person.id, store=_STORE_BY_CODE[person.store].id, assignee=assignee.id,
            created_by=created_by, kind=kind, title=title, details=None, due_at=due_at, snoozed_until=snoozed_until,
            completed_at=completed_at, completed_by=assignee.id if completed_at else None, source_ref=source_ref,
            created_at=created_at, updated_at=updated_at, deleted_at=None,
        )
        self.plan.tasks.append(row)
        return row


def _tasks(plan: _Plan, gen: _Gen, people: list[_Person], sellers: list[_Seller]) -> None:
    """Tasks of the last weeks and the days ahead, always for an associate of the customer's
    home store: post-purchase follow-ups (``purchase:<id>``, due three days after the sale, as
    the POS integration raises them) and birthday tasks (``birthday:<customer>:<year>``, due at
    the start of the birthday in the store's time zone, as the task generator raises them) for
    the primary associate; and manual follow-ups (kind ``follow_up``, no ``source_ref``) each
    seller wrote for themselves or a manager gave them. Most of the past ones are done, some
    are overdue or snoozed."""
    now = gen.now
    make = _TaskMaker(plan, gen)
    by_id = {p.id: p for p in people}
    associates = _sellers_by_store(sellers, ("associate",))
    managers = _sellers_by_store(sellers, ("store_manager",))
    first_names = {row.id: row.first_name for row in plan.customers}

    recent = now - dt.timedelta(days=14)
    for purchase in plan.purchases:
        person = by_id[purchase.customer]
        if purchase.occurred_at < recent or person.primary is None:
            continue
        due_at = purchase.occurred_at + POST_PURCHASE_FOLLOW_UP
        make.add(
            person, person.primary, kind="post_purchase", title=_POST_PURCHASE_TITLE, due_at=due_at,
            created_at=purchase.occurred_at, source_ref=f"purchase:{purchase.id}",
            done_rate=0.85 if due_at < now - dt.timedelta(days=1) else 0.3,
        )

    window_start = now.date() - dt.timedelta(days=14)
    for person, row in zip(people, plan.customers, strict=True):
        if person.primary is None or row.birth_mmdd is None:
            continue
        birthday = upcoming_birthday(row.birth_mmdd, window_start, 21)
        if birthday is None:
            continue
        due_at = _local_midnight(birthday, person.store)
        make.add(
            person, person.primary, kind="birthday", title=f"Birthday on {birthday:%d %b}: send your wishes",
            due_at=due_at, created_at=max(person.created_at, due_at - dt.timedelta(days=7)),
            source_ref=f"birthday:{person.id}:{birthday.year}",
            done_rate=0.75 if birthday < now.date() else 0.1,
        )

    store_people: dict[str, list[_Person]] = {s.code: [] for s in _STORES}
    books: dict[UUID, list[_Person]] = {}
    for person, row in zip(people, plan.customers, strict=True):
        store_people[person.store].append(person)
        for seller_id in (row.primary_associate, row.secondary_associate):
            if seller_id is not None:
                books.setdefault(seller_id, []).append(person)

    def follow_up(seller: _Seller, person: _Person, due_at: dt.datetime, done_rate: float, snooze_rate: float = 0.2) -> Task:
        language = _STORE_LANGUAGE[person.store]
        title = gen.rng.choice(_FOLLOW_UP_TITLES[language]).format(first=first_names[person.id])
        by_manager = managers[person.store] and gen.chance(0.2)
        created_by = gen.rng.choice(managers[person.store]).id if by_manager else seller.id
        created_at = max(person.created_at, due_at - dt.timedelta(days=gen.rng.uniform(1, 14))).replace(microsecond=0)
        return make.add(person, seller, kind="follow_up", title=title, due_at=due_at, created_at=created_at,
                        created_by=created_by, done_rate=done_rate, snooze_rate=snooze_rate)

    def pick_client(seller: _Seller, due_at: dt.datetime) -> _Person | None:
        book = books.get(seller.id, [])
        pool = book if book and gen.chance(0.85) else store_people[seller.stores[0]]
        person = gen.rng.choice(pool) if pool else None
        # Nobody follows up on someone who was not a customer yet.
        return person if person is not None and person.created_at < due_at - dt.timedelta(days=1) else None

    for code in (s.code for s in _STORES):
        for seller in associates[code]:
            for _ in range(gen.rng.randint(4, 10)):  # still to do: some overdue, some ahead
                due_at = (now + dt.timedelta(days=gen.rng.uniform(-10, 14))).replace(second=0, microsecond=0)
                person = pick_client(seller, due_at)
                if person is not None:
                    follow_up(seller, person, due_at, done_rate=0.0)
            for _ in range(gen.rng.randint(8, 20)):  # done over the past month
                due_at = (now - dt.timedelta(days=gen.rng.uniform(0.5, 30))).replace(second=0, microsecond=0)
                person = pick_client(seller, due_at)
                if person is not None:
                    follow_up(seller, person, due_at, done_rate=1.0)

    # The demo login always has work to show.
    madrid = next(s for s in sellers if s.email == _MADRID_ASSOCIATE)
    book = books.get(madrid.id, [])
    open_now = sum(
        1 for t in plan.tasks
        if t.assignee == madrid.id and t.completed_at is None and (t.snoozed_until is None or t.snoozed_until <= now)
    )
    for i in range(max(0, _MADRID_MIN_OPEN_TASKS - open_now) if book else 0):
        follow_up(madrid, book[i % len(book)], now + dt.timedelta(days=i % 3, hours=10), done_rate=0.0, snooze_rate=0.0)


class _Diary:
    """One seller's appointments per local day, as (start, end) minutes after local midnight."""

    def __init__(self) -> None:
        self.days: dict[dt.date, list[tuple[int, int]]] = {}

    def place(self, gen: _Gen, day: dt.date, minutes: int) -> int | None:
        """A free start (quarter-hour grid, inside opening hours), or None after a few tries."""
        taken = self.days.setdefault(day, [])
        for _ in range(12):
            start = gen.rng.randrange(_OPEN_FROM, _OPEN_UNTIL - minutes + 1, 15)
            if all(start + minutes <= s or start >= e for s, e in taken):
                taken.append((start, start + minutes))
                return start
        return None


def _appointments(plan: _Plan, gen: _Gen, people: list[_Person], sellers: list[_Seller]) -> None:
    """Appointments over the past month and the next three weeks, Monday to Saturday, inside
    opening hours in the store's time zone (stored in UTC). Associates see clients of their
    book (and now and then another client of the store); managers take a few. One seller's
    appointments never overlap, whatever their status. Past ones were held, missed, cancelled
    or are still ``booked`` (outcome not recorded); upcoming ones are booked or cancelled."""
    now = gen.now
    today = now.date()
    managers = _sellers_by_store(sellers, ("store_manager",))
    store_people: dict[str, list[_Person]] = {s.code: [] for s in _STORES}
    books: dict[UUID, list[_Person]] = {}
    for person, row in zip(people, plan.customers, strict=True):
        store_people[person.store].append(person)
        for seller_id in (row.primary_associate, row.secondary_associate):
            if seller_id is not None:
                books.setdefault(seller_id, []).append(person)
    diaries: dict[UUID, _Diary] = {}

    def book(seller: _Seller, person: _Person, day: dt.date, *, status: str | None = None, channel: str | None = None) -> Appointment | None:
        channel = channel or gen.pick(_APPOINTMENT_CHANNELS)
        minutes = gen.pick(_APPOINTMENT_MINUTES[channel])
        start = diaries.setdefault(seller.id, _Diary()).place(gen, day, minutes)
        if start is None:
            return None
        zone = ZoneInfo(_STORE_BY_CODE[person.store].timezone)
        local = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=zone)
        starts_at = local.astimezone(dt.timezone.utc)
        ends_at = (local + dt.timedelta(minutes=minutes)).astimezone(dt.timezone.utc)
        past = day < today
        status = status or gen.pick(_PAST_STATUSES if past else _UPCOMING_STATUSES)
        store_managers = managers[person.store]
        created_by = gen.rng.choice(store_managers).id if store_managers and seller.role != "store_manager" and gen.chance(0.15) else seller.id
        lead = dt.timedelta(days=gen.rng.uniform(0.5, 21))
        created_at = min(now, max(person.created_at, starts_at - lead)).replace(microsecond=0)
        if status in ("held", "no_show"):
            updated_at = min(now, ends_at + dt.timedelta(minutes=gen.rng.randint(0, 120)))
        elif status == "cancelled":
            updated_at = gen.moment_between(created_at, min(now, starts_at))
        else:
            updated_at = created_at
        language = _STORE_LANGUAGE[person.store]
        notes = gen.rng.choice(_APPOINTMENT_NOTES[language]) if gen.chance(0.4) else None
        row = Appointment(
            id=gen.uuid(), customer=person.id, associate=seller.id, store=_STORE_BY_CODE[person.store].id, channel=channel,
            starts_at=starts_at, ends_at=ends_at, status=status, notes=notes, created_by=created_by,
            created_at=created_at, updated_at=updated_at,
        )
        plan.appointments.append(row)
        return row

    days = [today + dt.timedelta(days=offset) for offset in range(-30, 21)]
    for code in (s.code for s in _STORES):
        clients = store_people[code]
        if not clients:
            continue
        for seller in (x for x in sellers if x.stores == (code,) and x.role in ("associate", "store_manager")):
            own = books.get(seller.id, [])
            per_day = ((0, 3), (1, 4), (2, 3), (3, 1)) if seller.role == "associate" else ((0, 3), (1, 1))
            for day in days:
                if day.weekday() == 6:  # closed on Sundays
                    continue
                for _ in range(gen.pick(per_day)):
                    pool = own if own and gen.chance(0.85) else clients
                    person = gen.rng.choice(pool)
                    if day < today and person.created_at.date() >= day:
                        continue  # not a customer yet back then
                    book(seller, person, day)

    # The demo login always has clients of her book coming in.
    madrid = next(s for s in sellers if s.email == _MADRID_ASSOCIATE)
    own = books.get(madrid.id, [])
    own_ids = {p.id for p in own}
    tomorrow = today + dt.timedelta(days=1)
    ahead = [
        a for a in plan.appointments
        if a.associate == madrid.id and a.status == "booked" and a.starts_at.date() >= tomorrow and a.customer in own_ids
    ]
    day = tomorrow
    while own and len(ahead) < _MADRID_MIN_UPCOMING and day < today + dt.timedelta(days=21):
        if day.weekday() != 6:
            row = book(madrid, own[len(ahead) % len(own)], day, status="booked", channel="in_store")
            if row is not None:
                ahead.append(row)
                continue
        day += dt.timedelta(days=1)


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
    _wishlists(plan, gen, people, sellers)
    _tasks(plan, gen, people, sellers)
    _appointments(plan, gen, people, sellers)
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
        await _insert(WishlistItem, plan.wishlist)
        await _insert(Task, plan.tasks)
        await _insert(Appointment, plan.appointments)
        # The loyalty ledger's opening balances and the demo member's sign-in (SPEC §3).
        from clienteling.services.loyalty_seed import seed_loyalty

        await seed_loyalty(member_email=DEMO_MEMBER_EMAIL, password_hash=plan.staff[0].password_hash, now=dt.datetime.now(dt.timezone.utc))
    return True


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def _skipped() -> SeedSummary:
    return SeedSummary(
        stores=0, staff=0, customers=0, purchases=0, purchase_lines=0, notes=0, consents=0, skipped=True,
        notices=0, wishlist_items=0, tasks=0, appointments=0,
    )


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
