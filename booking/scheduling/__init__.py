"""Scheduling: doctors' working plans, exceptions, holidays, slot search, holds and bookings."""
