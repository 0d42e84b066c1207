"""Pre-screening before any deposit: pain, history, Oswestry Disability Index, red flags."""
