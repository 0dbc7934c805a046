"""Customer 360 area: loyalty, purchases, consent summary and timeline on ``Customer``."""
