"""Catalogue: clinics, doctors, conditions, treatments, consultation types, exchange rates."""
