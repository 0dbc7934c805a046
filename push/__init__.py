"""Web Push to loyalty members (VAPID keys, subscriptions, templates, delivery worker).

Empty until the loyalty and Web Push issue lands; the package exists so the layout of
CONVENTIONS.md is in place from the start."""
