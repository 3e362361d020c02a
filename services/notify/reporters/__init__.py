"""Messages to the person who reported: a receipt, and updates as the incident is overseen and closed."""
