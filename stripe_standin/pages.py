"""The hosted checkout page of the stand-in: one template, inline CSS, no external resources."""

from __future__ import annotations

from typing import Any

from flask import render_template_string

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Pay deposit — test checkout</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:#1a1f36;background:#f6f8fa}
.banner{background:#ffde92;color:#5c3c00;text-align:center;padding:.5rem 1rem;font-size:.875rem}
main{max-width:28rem;margin:0 auto;padding:1.5rem 1rem 3rem}
.product{margin:0 0 1.5rem}
.product p{margin:0;color:#697386}
.amount{font-size:2rem;font-weight:600;margin:.25rem 0 0}
form,.notice{background:#fff;border:1px solid #e3e8ee;border-radius:.5rem;padding:1.25rem}
label{display:block;font-size:.875rem;font-weight:500;margin:1rem 0 .25rem}
label:first-child{margin-top:0}
input{width:100%;font:inherit;padding:.6rem .75rem;border:1px solid #cfd7df;border-radius:.375rem;
  background:#fff}
input:focus{outline:2px solid #635bff;outline-offset:0;border-color:#635bff}
.row{display:flex;gap:.75rem}.row>div{flex:1}
button{width:100%;margin-top:1.5rem;padding:.8rem;font:inherit;font-weight:600;color:#fff;
  background:#635bff;border:0;border-radius:.375rem;cursor:pointer}
button:hover{background:#4b45c6}
.error{background:#fde8e8;color:#9b1c1c;border-radius:.375rem;padding:.6rem .75rem;margin:0 0 1rem}
.hint{font-size:.8125rem;color:#697386;margin:1rem 0 0}
.back{display:inline-block;margin-top:1.25rem;color:#635bff}
</style>
</head>
<body>
<div class="banner">Test mode: a local stand-in for Stripe Checkout. No real card is charged.</div>
<main>
  <section class="product">
    <p>{{ name }}</p>
    <p class="amount">{{ amount }}</p>
  </section>
{% if state == "open" %}
  <form method="post" novalidate>
    {% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" required
           value="{{ email }}">
    <label for="cardNumber">Card number</label>
    <input id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number"
           placeholder="4242 4242 4242 4242" required value="{{ card }}">
    <div class="row">
      <div><label for="cardExpiry">Expiry</label>
        <input id="cardExpiry" name="cardExpiry" inputmode="numeric" autocomplete="cc-exp"
               placeholder="MM / YY" value="{{ expiry }}"></div>
      <div><label for="cardCvc">CVC</label>
        <input id="cardCvc" name="cardCvc" inputmode="numeric" autocomplete="cc-csc"
               placeholder="CVC"></div>
    </div>
    <label for="billingName">Name on card</label>
    <input id="billingName" name="billingName" autocomplete="cc-name" value="{{ billing_name }}">
    <button id="pay" type="submit">Pay {{ amount }}</button>
    <p class="hint">Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined.
      Any expiry and CVC.</p>
  </form>
  <a class="back" href="{{ cancel_url }}">Cancel and go back</a>
{% elif state == "expired" %}
  <div class="notice" role="status"><p>This checkout session has expired.</p></div>
  <a class="back" href="{{ cancel_url }}">Go back</a>
{% else %}
  <div class="notice" role="status"><p>This checkout session is already paid.</p></div>
  <a class="back" href="{{ success_url }}">Continue</a>
{% endif %}
</main>
</body>
</html>
"""

MISSING = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay deposit — test checkout</title></head>
<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem">
<p>No such checkout session (local Stripe Checkout stand-in).</p></body></html>"""


def render_page(context: dict[str, Any]) -> str:
    """context: state (open/expired/complete), name, amount, email, card, expiry, billing_name,
    error, cancel_url, success_url."""
    values = {"email": "", "card": "", "expiry": "", "billing_name": "", "error": None}
    values.update(context)
    return render_template_string(PAGE, **values)
