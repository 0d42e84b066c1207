"""Accounts: patients, coordinators and admins; sign-up, email verification, login, reset."""
