"""The questionnaire. ODI: 10 sections, each answered 0-5; the score is the sum as a percentage
of the maximum for the sections answered (Fairbank & Pynsent 2000). Statements are paraphrased."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ODI_SECTIONS: list[tuple[str, object, list[object]]] = [
    ("pain", _l("Pain intensity"), [
        _l("I have no pain at the moment"), _l("The pain is very mild at the moment"),
        _l("The pain is moderate at the moment"), _l("The pain is fairly severe at the moment"),
        _l("The pain is very severe at the moment"),
        _l("The pain is the worst imaginable at the moment")]),
    ("care", _l("Personal care (washing, dressing)"), [
        _l("I can look after myself normally without extra pain"),
        _l("I can look after myself normally but it is very painful"),
        _l("It is painful to look after myself and I am slow and careful"),
        _l("I need some help but manage most of my personal care"),
        _l("I need help every day in most aspects of self-care"),
        _l("I do not get dressed, wash with difficulty and stay in bed")]),
    ("lifting", _l("Lifting"), [
        _l("I can lift heavy weights without extra pain"),
        _l("I can lift heavy weights but it gives extra pain"),
        _l("Pain stops me lifting heavy weights off the floor, but I can if they are "
           "conveniently placed"),
        _l("Pain stops me lifting heavy weights, but I can manage light to medium weights if "
           "conveniently placed"),
        _l("I can lift only very light weights"), _l("I cannot lift or carry anything at all")]),
    ("walking", _l("Walking"), [
        _l("Pain does not prevent me walking any distance"),
        _l("Pain prevents me walking more than about 1.5 km"),
        _l("Pain prevents me walking more than about 500 m"),
        _l("Pain prevents me walking more than about 100 m"),
        _l("I can only walk using a stick or crutches"),
        _l("I am in bed most of the time")]),
    ("sitting", _l("Sitting"), [
        _l("I can sit in any chair as long as I like"),
        _l("I can sit in my favourite chair as long as I like"),
        _l("Pain prevents me sitting more than 1 hour"),
        _l("Pain prevents me sitting more than 30 minutes"),
        _l("Pain prevents me sitting more than 10 minutes"),
        _l("Pain prevents me sitting at all")]),
    ("standing", _l("Standing"), [
        _l("I can stand as long as I want without extra pain"),
        _l("I can stand as long as I want but it gives me extra pain"),
        _l("Pain prevents me standing for more than 1 hour"),
        _l("Pain prevents me standing for more than 30 minutes"),
        _l("Pain prevents me standing for more than 10 minutes"),
        _l("Pain prevents me standing at all")]),
    ("sleeping", _l("Sleeping"), [
        _l("My sleep is never disturbed by pain"), _l("My sleep is occasionally disturbed by pain"),
        _l("Because of pain I have less than 6 hours of sleep"),
        _l("Because of pain I have less than 4 hours of sleep"),
        _l("Because of pain I have less than 2 hours of sleep"),
        _l("Pain prevents me from sleeping at all")]),
    ("sex", _l("Sex life (if it applies; you may skip)"), [
        _l("My sex life is normal and causes no extra pain"),
        _l("My sex life is normal but causes some extra pain"),
        _l("My sex life is nearly normal but is very painful"),
        _l("My sex life is severely restricted by pain"),
        _l("My sex life is nearly absent because of pain"),
        _l("Pain prevents any sex life at all")]),
    ("social", _l("Social life"), [
        _l("My social life is normal and gives me no extra pain"),
        _l("My social life is normal but increases the pain"),
        _l("Pain limits only my more energetic interests, such as sport"),
        _l("Pain has restricted my social life and I do not go out as often"),
        _l("Pain has restricted my social life to my home"),
        _l("I have no social life because of pain")]),
    ("travel", _l("Travelling"), [
        _l("I can travel anywhere without pain"),
        _l("I can travel anywhere but it gives extra pain"),
        _l("Pain is bad but I manage journeys over two hours"),
        _l("Pain restricts me to journeys of less than one hour"),
        _l("Pain restricts me to short necessary journeys under 30 minutes"),
        _l("Pain prevents me from travelling except to receive treatment")]),
]

#: Symptoms that need urgent medical care at home, not a trip abroad.
RED_FLAGS: list[tuple[str, object]] = [
    ("bladder_bowel", _l("New problems controlling your bladder or bowels, or numbness around "
                         "the genitals or buttocks (saddle area)")),
    ("fever", _l("Fever or chills together with the back pain")),
    ("weight_loss", _l("Weight loss you cannot explain")),
    ("cancer", _l("Cancer now or in the past")),
    ("trauma", _l("A recent serious injury, such as a fall or a road accident")),
    ("weakness", _l("Weakness in your legs that is getting worse")),
]

PRIOR_TREATMENTS: list[tuple[str, object]] = [
    ("physiotherapy", _l("Physiotherapy or exercise programme")),
    ("medication", _l("Pain medication")),
    ("injections", _l("Injections (e.g. steroid)")),
    ("chiropractic", _l("Chiropractic or osteopathy")),
    ("acupuncture", _l("Acupuncture")),
]


def odi_score(answers: dict[str, int | None]) -> int | None:
    """The ODI as a whole percentage; sections left empty are left out of the maximum."""
    given = [v for v in answers.values() if v is not None]
    if len(given) < 8:  # the ODI is not valid with more than two sections missing
        return None
    return round(sum(given) * 100 / (5 * len(given)))
