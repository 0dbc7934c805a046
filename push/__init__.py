"""Web Push to loyalty members and staff devices: VAPID keys (``vapid``), localized payloads
(``templates``), the pywebpush adapter (``sender``) and the delivery worker (``worker``)."""
