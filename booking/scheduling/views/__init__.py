"""Scheduling's screens, one module per side of the counter:

- `patient.py`: the booking wizard, "my bookings" and the booking page (which staff see too);
- `clinic.py`: the clinic's week and day, confirming, outcomes, video links, booking for a patient;
- `plans.py`: weekly plans, leave, blocks, extra hours, closures and public holidays.
"""
