"""The travel feature's screens: the patient's trip (patient.py), visa letters for patients,
coordinators and embassies (letters.py), and the coordinators' travel desk (desk.py)."""
