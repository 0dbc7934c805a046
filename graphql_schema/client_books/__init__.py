"""Client books area: myClients, storeClients, reassigning a book, and seller KPIs."""
