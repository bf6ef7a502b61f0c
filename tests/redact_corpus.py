"""A held-out style corpus for the secrets filters: secrets in the places people meet
them (chat, mail, config, code, a screen), and look-alikes that must stay (phones,
ISBNs, order numbers, tracking codes, dates, versions, hashes…).

Written from what such text looks like in the wild, not from the rules in
core/redact.py. Values are generated with a fixed seed (valid check digits where the
real thing has them), and fake keys are assembled at run time so secret scanners do
not flag this file. ``SECRETS`` pairs a text with the secret values it holds;
``LOOK_ALIKES`` are texts that must come back unchanged.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass

_rng = random.Random(20261206)
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits


def _rand(n: int, alphabet: str = ALNUM) -> str:
    while True:
        value = "".join(_rng.choice(alphabet) for _ in range(n))
        # Real keys have letters and digits; a draw without a digit is not realistic.
        if any(c.isdigit() for c in value) or not any(c.isdigit() for c in alphabet):
            return value


def _luhn_complete(prefix: str, length: int) -> str:
    body = prefix + "".join(_rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        digits = body + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch)
            if i % 2:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def _group4(s: str, sep: str = " ") -> str:
    return sep.join(s[i:i + 4] for i in range(0, len(s), 4))


def _iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"{country}{check:02d}{bban}"


def _bad_iban(iban: str) -> str:
    """The same IBAN with its check digits wrong (a typo or a made-up number)."""
    digits = (int(iban[2:4]) + 1 + _rng.randrange(90)) % 97 + 2
    return iban[:2] + f"{digits:02d}" + iban[4:]


def _ssn() -> str:
    while True:
        area = _rng.randrange(1, 900)
        if area != 666:
            return f"{area:03d}-{_rng.randrange(1, 100):02d}-{_rng.randrange(1, 10000):04d}"


@dataclass(frozen=True)
class Case:
    text: str
    secrets: tuple[str, ...]
    kind: str


def _cards() -> list[Case]:
    out = []
    brands = [("4", 16, "Visa"), ("51", 16, "Mastercard"), ("55", 16, "Mastercard"),
              ("2221", 16, "Mastercard"), ("34", 15, "Amex"), ("37", 15, "Amex"),
              ("6011", 16, "Discover"), ("35", 16, "JCB"), ("4", 13, "Visa")]
    templates = [
        "Card number: {v}  Exp 08/27  CVC ***",
        "can you pay with mine? {v} exp 11/26",
        "{name} ending in …, full number {v}",
        "billing: {{\"card\": \"{v}\", \"exp\": \"03/28\"}}",
        "Pay with card\n{v}\nMM/YY",
    ]
    for n, (prefix, length, name) in enumerate(brands * 2):
        digits = _luhn_complete(prefix, length)
        if length == 15:
            shown = f"{digits[:4]} {digits[4:10]} {digits[10:]}"
        else:
            shown = [_group4(digits), _group4(digits, "-"), digits][n % 3]
        out.append(Case(templates[n % len(templates)].format(v=shown, name=name), (shown,), "card"))
    return out


def _provider_keys() -> list[Case]:
    keys = [
        ("AKIA" + _rand(16, UPPER_DIGITS), "aws_access_key_id = {v}"),
        ("ASIA" + _rand(16, UPPER_DIGITS), "export AWS_ACCESS_KEY_ID={v}"),
        ("ghp_" + _rand(36), "git remote set-url origin https://{v}@github.com/me/repo.git"),
        ("ghp_" + _rand(36), "here's my token {v} — revoke it after"),
        ("gho_" + _rand(36), "GITHUB_TOKEN: {v}"),
        ("github_pat_" + _rand(22) + "_" + _rand(59), "fine-grained PAT {v}"),
        ("xoxb-" + "".join(_rng.choice(string.digits) for _ in range(12)) + "-"
         + "".join(_rng.choice(string.digits) for _ in range(13)) + "-" + _rand(24),
         "SLACK_BOT_TOKEN={v}"),
        ("xoxp-" + "".join(_rng.choice(string.digits) for _ in range(12)) + "-" + _rand(32),
         "slack user token {v}"),
        ("sk_live_" + _rand(24), "stripe.api_key = \"{v}\""),
        ("rk_live_" + _rand(24), "restricted key {v}"),
        ("sk-proj-" + _rand(48), "OPENAI_API_KEY={v}"),
        ("sk-" + _rand(48), "openai key: {v}"),
        ("sk-ant-api03-" + _rand(80) + "AA", "ANTHROPIC_API_KEY={v}"),
        ("AIza" + _rand(35, ALNUM + "_-"), "<script src=\"https://maps.googleapis.com/maps/api/js?key={v}\">"),
        ("glpat-" + _rand(20), "gitlab token {v}"),
        ("npm_" + _rand(36), "//registry.npmjs.org/:_authToken={v}"),
        ("pypi-AgEIcHlwaS5vcmc" + _rand(60, ALNUM + "_-"), "password = {v}"),
        ("pypi-AgEIcHlwaS5vcmc" + _rand(60, ALNUM + "_-"), "twine upload -u __token__ -p {v} dist/*"),
        ("SG." + _rand(22) + "." + _rand(43), "SENDGRID_API_KEY={v}"),
        ("hf_" + _rand(34, string.ascii_letters), "HF token {v}"),
        ("dop_v1_" + _rand(64, "0123456789abcdef"), "digitalocean: {v}"),
        ("shpat_" + _rand(32, "0123456789abcdef"), "X-Shopify-Access-Token: {v}"),
    ]
    aws_secret = _rand(40, ALNUM + "/+")
    cases = [Case(t.format(v=v), (v,), "api-key") for v, t in keys]
    cases.append(Case(f"aws_secret_access_key = {aws_secret}", (aws_secret,), "api-key"))
    webhook = "https://hooks.slack.com/services/T" + _rand(8, UPPER_DIGITS) + "/B" + \
        _rand(8, UPPER_DIGITS) + "/" + _rand(24)
    cases.append(Case(f"post alerts to {webhook}", (webhook.rsplit("/", 1)[1],), "api-key"))
    return cases


def _tokens() -> list[Case]:
    import base64

    def b64(s: str) -> str:
        return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")

    out = []
    for n in range(4):
        jwt = (b64('{"alg":"HS256","typ":"JWT"}') + "." + b64('{"sub":"%d","name":"Ana"}' % n)
               + "." + _rand(43, ALNUM + "_-"))
        out.append(Case(["Authorization: Bearer {v}", "id_token={v}", "cookie: session={v}",
                         "paste this jwt into jwt.io: {v}"][n].format(v=jwt), (jwt,), "token"))
    bearer = _rand(40, ALNUM + "._-")
    out.append(Case(f"curl -H 'Authorization: Bearer {bearer}' https://api.example.com",
                    (bearer,), "token"))
    basic = base64.b64encode(b"ana:Tr0ub4dor&3").decode()
    out.append(Case(f"Authorization: Basic {basic}", (basic,), "token"))
    return out


def _private_keys() -> list[Case]:
    body = "\n".join(_rand(64, ALNUM + "+/") for _ in range(6))
    out = []
    for head in ("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                 "ENCRYPTED PRIVATE KEY"):
        block = f"-----BEGIN {head}-----\n{body}\n-----END {head}-----"
        out.append(Case(f"key.pem:\n{block}\n", (body.split("\n")[2],), "private-key"))
    pgp = (f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{body}\n=abcd\n"
           "-----END PGP PRIVATE KEY BLOCK-----")
    out.append(Case(pgp, (body.split("\n")[1],), "private-key"))
    cut = f"-----BEGIN RSA PRIVATE KEY-----\n{body}"  # cut off at the edge of the screen
    out.append(Case(cut, (body.split("\n")[4],), "private-key"))
    return out


def _passwords() -> list[Case]:
    pw = ["Tr0ub4dor&3", "hunter2!", "S3cure#Pass", "correcthorse42", "P@ssw0rd2024",
          "mYpa55word", "Winter2023!", "zq9!kL2#mP", "Lisboa#1987", "blue-Fish-77"]
    templates = [
        "Password: {v}",
        "wifi name HomeNet, password is {v}",
        "the admin password is {v} (change it)",
        "DB_PASSWORD={v}",
        "postgres://app:{v}@db.internal:5432/prod",
        "mysql -u root -p'{v}' shop",
        "  password: \"{v}\"",
        "login: ana@example.com / pwd: {v}",
        "Passwort: {v}",
        "\"password\": \"{v}\",",
    ]
    return [Case(t.format(v=v), (v,), "password") for t, v in zip(templates, pw)]


def _labelled_secrets() -> list[Case]:
    out = []
    for t in ("client_secret: {v}", "API_KEY = '{v}'", "secret_key={v}", "\"apiKey\": \"{v}\"",
              "encryption_key: {v}", "SESSION_TOKEN={v}", "x-api-key: {v}"):
        v = _rand(32)
        out.append(Case(t.format(v=v), (v,), "secret"))
    return out


def _otps() -> list[Case]:
    out = []
    for t in ("Your verification code is {v}. It expires in 10 minutes.",
              "{v} is your Instagram code. Don't share it.",
              "G-{v} is your Google verification code.",
              "Use code {v} to sign in to your account",
              "Your one-time password: {v}",
              "2FA code: {v}",
              "Login code: {v}",
              "Your OTP is {v}"):
        v = "".join(_rng.choice(string.digits) for _ in range(6))
        out.append(Case(t.format(v=v), (v,), "otp"))
    return out


def _ibans() -> list[Case]:
    out = [Case("IBAN DE89 3704 0044 0532 0130 00", ("3704 0044 0532 0130 00",), "iban"),
           Case("GB82WEST12345698765432", ("GB82WEST12345698765432",), "iban")]
    shapes = [("DE", 18, string.digits), ("FR", 23, string.digits), ("ES", 20, string.digits),
              ("IT", 23, None), ("NL", 14, None), ("GB", 18, None), ("PT", 21, string.digits),
              ("BE", 12, string.digits), ("CH", 17, string.digits), ("AT", 16, string.digits),
              ("PL", 24, string.digits), ("IE", 18, None)]
    templates = ["IBAN: {v}", "please transfer to {v} (Ana Silva)", "Kontonummer/IBAN {v}",
                 "bank details\nIBAN {v}\nBIC COBADEFFXXX", "pay into {v} by Friday"]
    for n, (country, size, alphabet) in enumerate(shapes * 2):
        if alphabet is None:  # a bank code of letters, then digits (IT, NL, GB, IE)
            letters = 1 if country == "IT" else 4
            bban = _rand(letters, string.ascii_uppercase).upper() + "".join(
                _rng.choice(string.digits) for _ in range(size - letters))
            if country == "IT":
                bban = bban[0] + bban[1:]
        else:
            bban = "".join(_rng.choice(alphabet) for _ in range(size))
        iban = _iban(country, bban)
        shown = _group4(iban) if n % 2 else iban
        out.append(Case(templates[n % len(templates)].format(v=shown), (shown[4:],), "iban"))
    return out


def _ssns() -> list[Case]:
    out = [Case("SSN 078-05-1120", ("078-05-1120",), "ssn")]
    templates = ["SSN: {v}", "Social Security Number {v}", "my social is {v}, dob 04/12/1988",
                 "ssn={v}", "Employee SSN {v}", "SS# {v}", "{v} (SSN)",
                 "W-2 box a: {v}"]
    for n in range(16):
        v = _ssn()
        if n % 4 == 3 and not templates[n % len(templates)].startswith(("{v}", "W-2", "my social")):
            v = v.replace("-", " ")
        out.append(Case(templates[n % len(templates)].format(v=v), (v,), "ssn"))
    return out


def _second_batch() -> list[Case]:
    """Written after the first measurement, to check the fixes did not fit the first set."""
    out = []
    pw = ["Gr33n-Tea!", "8bitRobot$", "M0nday_Blues", "sunflower77", "Q!w2e3r4"]
    for t, v in zip(["Wi-Fi: CafeGuest / Password {v}", "new pw: {v}", "psql password={v}",
                     "here's the vault password: {v}", "PGPASSWORD={v} psql -h db"], pw):
        out.append(Case(t.format(v=v), (v,), "password"))
    for t in ("Your Microsoft security code is {v}", "Enter {v} to verify your email",
              "WhatsApp code: {v}", "Your login verification code: {v}"):
        v = "".join(_rng.choice(string.digits) for _ in range(6))
        out.append(Case(t.format(v=v), (v,), "otp"))
    for country, size in (("SE", 20), ("DK", 14), ("NO", 11), ("FI", 14), ("CZ", 20),
                          ("HU", 24), ("RO", None), ("LU", 16)):
        if size is None:
            bban = "RNCB" + "".join(_rng.choice(string.digits) for _ in range(16))
        else:
            bban = "".join(_rng.choice(string.digits) for _ in range(size))
        iban = _iban(country, bban)
        out.append(Case(f"Beneficiary: Ana Silva, account {_group4(iban)}", (iban[4:8],), "iban"))
    for t in ("Applicant SSN: {v}", "SSN#{v}", "taxpayer id (SSN) {v}", "social sec no. {v}"):
        v = _ssn()
        out.append(Case(t.format(v=v), (v,), "ssn"))
    for prefix, length in (("4", 16), ("5", 16), ("37", 15), ("6011", 16)):
        digits = _luhn_complete(prefix if prefix != "5" else "53", length)
        out.append(Case(f"I paid with {digits} yesterday", (digits,), "card"))
    for v, t in (("ghp_" + _rand(36), "token = \"{v}\""),
                 ("AKIA" + _rand(16, UPPER_DIGITS), "{v}"),
                 ("sk_live_" + _rand(32), "STRIPE_SECRET_KEY: {v}"),
                 ("xoxb-" + "1" * 11 + "-" + "2" * 13 + "-" + _rand(24), "token {v}")):
        out.append(Case(t.format(v=v), (v,), "api-key"))
    return out


SECRETS: tuple[Case, ...] = tuple(
    _cards() + _provider_keys() + _tokens() + _private_keys() + _passwords()
    + _labelled_secrets() + _otps() + _ibans() + _ssns() + _second_batch())


def _phones() -> list[str]:
    return [
        "Call me at +1 415 555 2671", "office: (212) 555-0147", "+44 20 7946 0958",
        "tel. +49 30 12345678", "ring 0049 30 1234 5678 9", "WhatsApp +351 912 345 678",
        "+33 1 42 68 53 00", "mobile 555-123-4567", "fax 1-800-555-0199",
        "+1 (646) 555-0133 ext. 204", "call 020 7946 0321", "+61 2 9374 4000",
        "hotline 0800 123 4567", "+91 98765 43210", "tel:+15551234567",
    ]


def _isbns() -> list[str]:
    out = ["ISBN 978-0-306-40615-7", "ISBN-13: 9780306406157", "ISBN 0-306-40615-2",
           "isbn 978 3 16 148410 0", "The Name of the Wind (ISBN 9780756404741)"]
    for _ in range(10):
        body = "978" + "".join(_rng.choice(string.digits) for _ in range(9))
        check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
        isbn = body + str(check)
        out.append(f"ISBN {isbn}" if _rng.random() < 0.5 else
                   f"978-{isbn[3]}-{isbn[4:7]}-{isbn[7:12]}-{isbn[12]}")
    return out


def _orders_and_tracking() -> list[str]:
    out = [
        "Order #112-4567890-1234567 has shipped", "Amazon order 402-9876543-2109876",
        "UPS tracking 1Z999AA10123456784", "USPS 9400 1000 0000 0000 0000 00",
        "USPS tracking 9400111899223197428490", "FedEx 7489 2345 6789",
        "DHL waybill 1234567890", "Your order 100234567 is on its way",
        "Invoice INV-2024-00123", "PO 4500123456", "Ticket #48213", "case 01234567",
        "Booking reference ABC123", "Confirmation code: K7PX2Q", "Flight TP 1352 gate 14",
        "Order number: 8452 3321 9987 1123", "Reference 2024/03/000123",
        "Receipt 0400 1234 5678 9010 (store receipt)",
        "Parcel CX123456789DE", "Royal Mail AB123456789GB",
    ]
    for _ in range(10):
        out.append(f"Order {''.join(_rng.choice(string.digits) for _ in range(_rng.randrange(8, 13)))}")
    return out


def _numbers_in_prose() -> list[str]:
    out = [
        "Meeting 2024-01-15 14:30:00 UTC", "epoch 1705329000000", "version 4.11.1111.1111",
        "Python 3.11.7 on linux", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
        "uuid 123e4567-e89b-12d3-a456-426614174000", "IP 192.168.100.254, mask 255.255.255.0",
        "MAC 00:1A:2B:3C:4D:5E", "color #1e90ff", "zip code 94103", "postcode SW1A 1AA",
        "error code 5000", "HTTP 404", "exit code 137", "VIN 1HGCM82633A004352",
        "SKU 123-45-678", "part no. 12-345-6789", "Serial S/N 5CG1234XYZ",
        "lat 38.7223, lon -9.1393", "total $1,234,567.89", "pop. 10,000,000",
        "Room 1203, floor 12", "at 09:30 on 2024-06-03", "PIN-compatible with v2",
        "passcode field is required", "Password: must be 8+ characters",
        "Forgot password? Reset it here", "token count: 2048",
        "the code 404 means not found", "code review at 3pm",
        "api_key = os.environ[\"API_KEY\"]", "password = getpass()",
        "secret = None", "PASSWORD_MIN_LENGTH = 12", "sort code 20-00-00",
        "ISO 8601: 2024-03-01T14:30:00+01:00", "call ext 4412", "apt 4B, 221B Baker St",
        "bought 3 x 12345678 widgets", "lottery numbers 04 12 23 31 44 48",
    ]
    return out


def _near_misses() -> list[str]:
    """Secrets' shapes with the wrong check digits or out of range: not secrets."""
    out = []
    for _ in range(10):
        iban = _iban("DE", "".join(_rng.choice(string.digits) for _ in range(18)))
        out.append(f"IBAN {_group4(_bad_iban(iban))}")
    for bad in ("000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000",
                "987-65-4321", "900-11-2222"):
        out.append(f"SSN {bad}")
    for _ in range(6):
        digits = _luhn_complete("4", 16)
        wrong = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        out.append(f"Card number: {_group4(wrong)}")
    out += ["sk-this-is-not-a-key", "ghp_short", "AKIA is a prefix", "xoxb-", "Bearer token",
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n"
            "-----END PUBLIC KEY-----",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdMUs6q2Y5wR4iS ana@laptop"]
    return out


def _second_look_alikes() -> list[str]:
    """Written after the first measurement, with the second batch of secrets."""
    return [
        "Gate B32, seat 14C, boarding 07:45", "Tel: 0301 234 5678", "BIC DEUTDEFF500",
        "Steuernummer 21/815/08150", "Customer no. 2023-445-1901", "room code 4B-12",
        "use promo code SUMMER2024", "Bus 728 leaves at 17:05", "the 2FA setup page",
        "ISBN 978-1-4028-9462-6", "tracking number 1Z 999 AA1 01 2345 6784",
        "Account settings > Security > Passwords", "pin the tab", "code: see below",
        "123-456-7890 is the front desk", "Member ID 8847 2210 3321",
        "Parcel locker 4492, collect by Fri", "Nr. 0049 151 23456789",
        "ORD-7781-2291-0034", "EAN 4006381333931", "password reset link sent",
        "DE00 1234 5678 9012 3456 78 (example format)", "SSN format is AAA-GG-SSSS",
        "build 20240315.2", "the token expired yesterday", "API key rotated on Monday",
    ]


LOOK_ALIKES: tuple[str, ...] = tuple(
    _phones() + _isbns() + _orders_and_tracking() + _numbers_in_prose() + _near_misses()
    + _second_look_alikes())
