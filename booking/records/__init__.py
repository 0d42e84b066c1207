"""Medical records: MRI reports and images uploaded by patients, stored privately."""
