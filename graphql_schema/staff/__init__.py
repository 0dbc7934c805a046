"""Staff area: the signed-in staff member."""
