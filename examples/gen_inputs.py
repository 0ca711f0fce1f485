#!/usr/bin/env python3
"""Regenerate keysync's shipped example data, byte for byte.

    python3 examples/gen_inputs.py

writes input/A.csv … input/E.csv (the root config's sources) and the input/
files of every example under examples/. The output is deterministic (fixed
seed, no clock), so re-running it on an unchanged script changes nothing in
git. Edit this script rather than the CSV files.

Root data, in short: A is the authority, ~340 keys of four families
(invoice INV-<year>-<n>, sku SKU-<xx>-<n>, customer CUST-<n>, asset
AST-<region>-<n>). Each peer holds most of A's keys, spelled the messy way
its exporter spells them (case, `_ . / space` and doubled delimiters instead
of `-`, leading zeros dropped or added, surrounding spaces, stray `#`), a
handful of keys A lacks (some held by two peers), a few duplicates and a few
rejected rows of every reason. Every messy spelling is checked here against a
Python copy of SPEC §4 normalization, so the data says what it means to.
"""

import os
import random
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20240601
PAD = 8
DELIMS = " \t-_./\\:|"
HEADER = ["source_system", "source_key", "entity_type", "location_ref", "last_seen_at"]


# --- SPEC §4 normalization (defaults, pad_numbers 8), to check the data ---

def normalize(raw):
    s = raw.strip().upper()
    s = "".join(c for c in s if (c.isascii() and c.isalnum()) or c in DELIMS or c.isspace())
    s = re.sub(r"[%s\s]+" % re.escape(DELIMS), "-", s).strip("-")
    if not s:
        return ""
    segs = []
    for seg in s.split("-"):
        if seg.isascii() and seg.isdigit():
            seg = (seg.lstrip("0") or "0").rjust(PAD, "0")
        segs.append(seg)
    return "-".join(segs)


# --- CSV writing: bytes, so invalid UTF-8 can be written on purpose ---

def field(v, delim, quote=False):
    b = v if isinstance(v, bytes) else v.encode("utf-8")
    if quote or any(c in b for c in (delim.encode(), b'"', b"\r", b"\n")):
        b = b'"' + b.replace(b'"', b'""') + b'"'
    return b


def write_csv(path, header, rows, delim=",", crlf=False, bom=False):
    """rows are lists of fields (str or bytes), or ("raw", bytes) for a line
    written exactly as given, or ("quoted", [fields], {indexes}) to quote
    some fields even where no quoting is needed, as some exporters do."""
    eol = b"\r\n" if crlf else b"\n"
    out = [b"\xef\xbb\xbf"] if bom else []
    out.append(delim.encode().join(field(h, delim) for h in header) + eol)
    for r in rows:
        if isinstance(r, tuple) and r[0] == "raw":
            out.append(r[1] + eol)
            continue
        quoted = set()
        if isinstance(r, tuple) and r[0] == "quoted":
            r, quoted = r[1], r[2]
        out.append(delim.encode().join(field(v, delim, i in quoted) for i, v in enumerate(r)) + eol)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"".join(out))


# --- the root data ---

REGIONS = ["EU-WEST", "EU-CENTRAL", "EU-NORTH", "US-EAST", "US-WEST", "APAC"]
WAREHOUSES = ["WH-BER-01", "WH-HAM-02", "WH-MUC-03", "WH-RTM-04", "WH-NJ-05", "WH-SGP-06"]
SKU_LINES = ["KB", "MS", "MN", "HD", "CB", "PS", "DK", "LT"]
ASSET_REGIONS = ["EU", "US", "AP"]


def make_authority_keys(rng):
    """The authority's keys as A spells them (canonical), with their type."""
    keys = []
    for n in rng.sample(range(1, 3000), 110):
        year = 2023 if n % 5 == 0 else 2024
        keys.append(("INV-%d-%04d" % (year, n), "invoice"))
    for n in rng.sample(range(10, 9000), 90):
        keys.append(("SKU-%s-%04d" % (rng.choice(SKU_LINES), n), "sku"))
    for n in rng.sample(range(100, 99999), 80):
        keys.append(("CUST-%06d" % n, "customer"))
    for n in rng.sample(range(1, 2000), 60):
        keys.append(("AST-%s-%04d" % (rng.choice(ASSET_REGIONS), n), "asset"))
    seen = set()
    out = []
    for k, t in keys:
        nk = normalize(k)
        if nk not in seen:
            seen.add(nk)
            out.append((k, t))
    return out


def new_keys(rng, count, taken):
    """Keys no authority has: higher numbers than A uses, so no clash."""
    out = []
    while len(out) < count:
        kind = rng.choice(["invoice", "sku", "customer", "asset"])
        if kind == "invoice":
            k = "INV-2024-%04d" % rng.randrange(5000, 9999)
        elif kind == "sku":
            k = "SKU-%s-%05d" % (rng.choice(SKU_LINES), rng.randrange(10000, 60000))
        elif kind == "customer":
            k = "CUST-%06d" % rng.randrange(100000, 999999)
        else:
            k = "AST-%s-%04d" % (rng.choice(ASSET_REGIONS), rng.randrange(5000, 9999))
        if normalize(k) not in taken:
            taken.add(normalize(k))
            out.append((k, kind))
    return out


def location(rng, kind):
    if kind in ("invoice", "customer"):
        return rng.choice(REGIONS)
    wh = rng.choice(WAREHOUSES)
    if rng.random() < 0.25:
        return "%s, Bay %d" % (wh, rng.randrange(1, 40))  # a comma: quoted in a comma CSV
    return wh


def timestamp(rng, style):
    """A last_seen_at in one of the three accepted forms."""
    month, day = rng.randrange(1, 7), rng.randrange(1, 29)
    h, m, s = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    if style == "rfc3339":
        return "2024-%02d-%02dT%02d:%02d:%02dZ" % (month, day, h, m, s)
    if style == "offset":
        return "2024-%02d-%02dT%02d:%02d:%02d%s" % (month, day, h, m, s, rng.choice(["+02:00", "+01:00", "-05:00", "+08:00"]))
    if style == "datetime":
        return "2024-%02d-%02d %02d:%02d:%02d" % (month, day, h, m, s)
    return "2024-%02d-%02d" % (month, day)


# How each peer's exporter spells keys: joiners between segments, the odds of
# lower case, of dropping or adding leading zeros, of padding spaces or `#`.
STYLES = {
    "A": dict(joins=["-"], lower=0.02, drop=0.0, add=0.0, space=0.01, hash=0.0),
    "B": dict(joins=["_", "_", "-", "__"], lower=0.8, drop=0.6, add=0.0, space=0.1, hash=0.05),
    "C": dict(joins=[".", "/", "-", " / "], lower=0.3, drop=0.2, add=0.5, space=0.15, hash=0.1),
    "D": dict(joins=[" ", "-", "  ", "_"], lower=0.4, drop=0.4, add=0.2, space=0.3, hash=0.2),
    "E": dict(joins=["--", "-_", "__", ".", "-"], lower=0.5, drop=0.3, add=0.3, space=0.1, hash=0.1),
}


def mess(rng, key, style):
    """Spell key the way a peer's export would; the normalized key is kept."""
    st = STYLES[style]
    segs = key.split("-")
    out = []
    for seg in segs:
        if seg.isdigit():
            if rng.random() < st["drop"]:
                seg = seg.lstrip("0") or "0"
            elif rng.random() < st["add"]:
                seg = seg.rjust(len(seg) + rng.randrange(1, 4), "0")
        else:
            r = rng.random()
            if r < st["lower"]:
                seg = seg.lower()
            elif r < st["lower"] + 0.1:
                seg = seg.capitalize()
        out.append(seg)
    s = out[0]
    for seg in out[1:]:
        s += rng.choice(st["joins"]) + seg
    if rng.random() < st["hash"]:
        s = rng.choice(["#" + s, s + "#", "# " + s])
    if rng.random() < st["space"]:
        s = rng.choice([" " + s, s + " ", "  " + s + "  ", "\t" + s])
    assert normalize(s) == normalize(key), (key, s, normalize(s))
    return s


def respell(rng, key, style, avoid):
    """Another spelling of key, different from avoid, for duplicates."""
    for _ in range(100):
        s = mess(rng, key, style)
        if s != avoid:
            return s
    raise RuntimeError("no second spelling for %s" % key)


def system_field(rng, name):
    """source_system as exporters write it: usually the name, sometimes
    lower case, padded or blank (all accepted)."""
    r = rng.random()
    if r < 0.05:
        return ""
    if r < 0.10:
        return name.lower()
    if r < 0.13:
        return " %s " % name
    return name


def gen_root():
    rng = random.Random(SEED)
    authority = make_authority_keys(rng)
    taken = {normalize(k) for k, _ in authority}
    ts_style = {"A": ["rfc3339"], "B": ["datetime"], "C": ["date", "datetime"],
                "D": ["date", "rfc3339", "datetime"], "E": ["offset", "rfc3339"]}
    meta = {k: (t, location(rng, t)) for k, t in authority}

    def row(system, raw, kind, loc):
        ts = "" if rng.random() < 0.04 else timestamp(rng, rng.choice(ts_style[system]))
        return [system_field(rng, system), raw, kind, loc, ts]

    # Keys A lacks: each peer has its own few, and some are held by two peers.
    extra = {p: new_keys(rng, n, taken) for p, n in (("B", 6), ("C", 5), ("D", 5), ("E", 6))}
    shared = new_keys(rng, 5, taken)
    for (k, t), owners in zip(shared, [("B", "C"), ("B", "C"), ("C", "E"), ("D", "E"), ("B", "D")]):
        for p in owners:
            extra[p].append((k, t))

    files = {}
    # The authority: A's keys in its own clean spelling, a few duplicates.
    rows = [row("A", mess(rng, k, "A"), t, meta[k][1]) for k, t in authority]
    for k, t in rng.sample(authority, 3):
        rows.append(row("A", respell(rng, k, "B", k), t, meta[k][1]))
    files["A"] = rows

    keep = {"B": 0.90, "C": 0.86, "D": 0.92, "E": 0.88}
    for p in "BCDE":
        held = [(k, t) for k, t in authority if rng.random() < keep[p]]
        rows = []
        spelled = {}
        for k, t in held + extra[p]:
            loc = meta[k][1] if k in meta else location(rng, t)
            if rng.random() < 0.1:
                loc = loc.lower()
            spelled[k] = mess(rng, k, p)
            rows.append(row(p, spelled[k], t, loc))
        # Duplicates: two spellings of one key in the same file, one of them
        # a key A lacks, so a reviewer sees both findings on one key.
        for k, t in rng.sample(held, 2) + [rng.choice(extra[p])]:
            loc = meta[k][1] if k in meta else location(rng, t)
            rows.append(row(p, respell(rng, k, p, spelled[k]), t, loc))
        files[p] = rows

    for p in files:
        rng.shuffle(files[p])

    # A Latin-1 byte outside the key does not reject the row (SPEC §3): it is
    # kept as U+FFFD.
    for p in "BCE":
        r = next(r for r in files[p] if r[2] in ("sku", "asset"))
        r[3] = b"Lager M\xfcnchen"

    # Rejected rows, each failing exactly one rule (SPEC §3), at random places.
    ak = [k for k, _ in authority]
    rejects = {
        "A": [
            ("raw", b"A,INV-2024-9001,invoice,EU-WEST,2024-03-01,extra"),                    # field_count
            ["A", "SKU-KB-0001", "sku", "WH-BER-01", "2024-02-30"],                         # bad_timestamp
            ["A", "-_-", "sku", "WH-HAM-02", "2024-03-02T10:00:00Z"],                       # empty_key
            ["B", ak[7], "invoice", "EU-WEST", "2024-03-03T10:00:00Z"],                     # system_mismatch
        ],
        "B": [
            ["B", b"inv_2024_\xff\xfe17", "invoice", "EU-WEST", "2024-04-01 08:00:00"],     # invalid_utf8
            ["C", mess(rng, ak[11], "B"), "sku", "WH-MUC-03", "2024-04-02 09:00:00"],      # system_mismatch
            ["B", mess(rng, ak[12], "B"), "sku", "WH-MUC-03", "2024-02-30 09:00:00"],      # bad_timestamp
            ["B", "-_-", "customer", "EU-NORTH", "2024-04-03 10:00:00"],                    # empty_key
            ["B", "cust_4711", "customer"],                                                 # field_count
        ],
        "C": [
            ("raw", b"C,SKU.MS.0042,sku,WH-BER-01, Bay 4,2024-04-05"),                     # field_count: unquoted comma
            ["C", b"SKU.\xdcB.0042", "sku", "WH-BER-01", "2024-04-05"],                     # invalid_utf8 (Latin-1 \xdc)
            ["D", mess(rng, ak[20], "C"), "invoice", "US-EAST", "2024-04-06"],             # system_mismatch
            ["C", "#", "asset", "WH-NJ-05", "2024-04-07"],                                  # empty_key
            ["C", mess(rng, ak[21], "C"), "invoice", "US-WEST", "2024-13-01"],             # bad_timestamp
        ],
        "D": [
            ["D", mess(rng, ak[30], "D"), "asset", "WH-RTM-04"],                            # field_count
            ["D", b"ast eu \xc3\x28 12", "asset", "WH-RTM-04", "2024-05-01"],               # invalid_utf8
            ["D", mess(rng, ak[31], "D"), "sku", "WH-SGP-06", "yesterday"],                # bad_timestamp
            ["D", "  ", "sku", "WH-SGP-06", "2024-05-02"],                                  # empty_key
            ["E", mess(rng, ak[32], "D"), "sku", "WH-SGP-06", "2024-05-03"],               # system_mismatch
        ],
        "E": [
            ["A", mess(rng, ak[40], "E"), "invoice", "APAC", "2024-05-04T10:00:00+08:00"],  # system_mismatch
            ["E", mess(rng, ak[41], "E"), "invoice", "APAC", "31/01/2024"],                 # bad_timestamp
            ["E", "./.", "asset", "WH-NJ-05", "2024-05-05T10:00:00Z"],                      # empty_key
            ["E", mess(rng, ak[42], "E"), "customer", "EU-WEST", "2024-05-06T10:00:00Z", "x"],  # field_count
            ["E", b"cust--\x80\x80--000815", "customer", "EU-WEST", "2024-05-07T10:00:00Z"],  # invalid_utf8
        ],
    }
    for p, rs in rejects.items():
        for r in rs:
            files[p].insert(rng.randrange(len(files[p]) + 1), r)

    # Some exporters also quote every field of some rows.
    for p in "AB":
        for i in rng.sample(range(len(files[p])), 10):
            if isinstance(files[p][i], list):
                files[p][i] = ("quoted", files[p][i], {0, 1, 2, 3, 4})

    d = os.path.join(ROOT, "input")
    write_csv(os.path.join(d, "A.csv"), HEADER, files["A"])
    write_csv(os.path.join(d, "B.csv"), HEADER, files["B"])
    write_csv(os.path.join(d, "C.csv"), HEADER, files["C"])
    # D exports with `;`, its own header names (mapped by columns: in the
    # config) and no quoting of commas, which are not its delimiter.
    write_csv(os.path.join(d, "D.csv"), ["SOURCE_SYSTEM", "ItemID", "Entity_Type", "Location_Ref", "LastSeen"],
              files["D"], delim=";")
    # E comes from a Windows tool: a BOM and CRLF line ends.
    write_csv(os.path.join(d, "E.csv"), HEADER, files["E"], crlf=True, bom=True)


# --- the examples: small, hand-written data ---

def ex(name, *parts):
    return os.path.join(ROOT, "examples", name, "input", *parts)


def gen_namespaced():
    a = [
        ["A", "INV-2024-0001", "invoice", "EU-WEST", "2024-05-01T08:00:00Z"],
        ["A", "INV-2024-0002", "invoice", "EU-WEST", "2024-05-01T08:05:00Z"],
        ["A", "INV-2024-0003", "invoice", "US-EAST", "2024-05-01T08:10:00Z"],
        ["A", "SKU-KB-0071", "sku", "WH-BER-01", "2024-05-02T09:00:00Z"],
        ["A", "SKU-MS-0420", "sku", "WH-HAM-02", "2024-05-02T09:30:00Z"],
        ["A", "CUST-000512", "customer", "EU-CENTRAL", "2024-05-03"],
        ["A", "CUST-000513", "customer", "EU-CENTRAL", "2024-05-03"],
        ["A", "AST-EU-0033", "asset", "WH-MUC-03", "2024-05-04 12:00:00"],
        # A legacy key that happens to read like B's namespaced INV-77.
        ["A", "A-B-INV-77", "invoice", "EU-WEST", "2024-04-30"],
    ]
    b = [
        ["B", "inv_2024_1", "invoice", "EU-WEST", "2024-05-05 10:00:00"],
        ["B", "inv_2024_2", "invoice", "EU-WEST", "2024-05-05 10:01:00"],
        ["B", "inv_2024_3", "invoice", "US-EAST", "2024-05-05 10:02:00"],
        ["B", "sku_kb_71", "sku", "WH-BER-01", "2024-05-05 10:03:00"],
        ["B", "cust_512", "customer", "EU-CENTRAL", "2024-05-05 10:04:00"],
        ["B", "ast_eu_33", "asset", "WH-MUC-03", "2024-05-05 10:05:00"],
        # Missing in A; its master key A-B-INV-00000077 is already a key of A.
        ["B", "inv_77", "invoice", "EU-WEST", "2024-05-05 10:06:00"],
        # Missing in A, and also held by C: two master keys, one per system.
        ["B", "sku_dk_9001", "sku", "WH-RTM-04", "2024-05-05 10:07:00"],
    ]
    c = [
        ["C", "Inv.2024.0001", "invoice", "EU-WEST", "2024-05-06"],
        ["C", "Inv.2024.0002", "invoice", "EU-WEST", "2024-05-06"],
        ["C", "SKU/KB/0071", "sku", "WH-BER-01", "2024-05-06"],
        ["C", "SKU/MS/420", "sku", "WH-HAM-02", "2024-05-06"],
        ["C", "Cust.512", "customer", "EU-CENTRAL", "2024-05-06"],
        ["C", "Cust.513", "customer", "EU-CENTRAL", "2024-05-06"],
        ["C", "SKU/DK/09001", "sku", "WH-RTM-04", "2024-05-06"],
        ["C", "AST/US/0101", "asset", "WH-NJ-05", "2024-05-06"],
    ]
    write_csv(ex("namespaced", "A.csv"), HEADER, a)
    write_csv(ex("namespaced", "B.csv"), HEADER, b)
    write_csv(ex("namespaced", "C.csv"), HEADER, c)


def gen_semicolon():
    a = [
        ["A", "ART-100-0001", "sku", "Halle 1", "2024-05-01T08:00:00Z"],
        ["A", "ART-100-0002", "sku", "Halle 1", "2024-05-01T08:00:00Z"],
        ["A", "ART-100-0003", "sku", "Halle 2", "2024-05-01T08:00:00Z"],
        ["A", "ART-200-0010", "sku", "Halle 2", "2024-05-01T08:00:00Z"],
        ["A", "ART-200-0011", "sku", "Halle 3", "2024-05-01T08:00:00Z"],
        ["A", "ART-200-0012", "sku", "Halle 3", "2024-05-01T08:00:00Z"],
        ["A", "ART-300-0100", "sku", "Halle 4", "2024-05-01T08:00:00Z"],
    ]
    # B: a spreadsheet export from a German-locale PC: a BOM, CRLF line ends,
    # `;` between fields, its own header names, commas inside plain fields and
    # one quoted field holding a `;` and a line break.
    b = [
        ["B", "art 100 1", "Artikel", "Halle 1, Regal 4", "2024-05-02"],
        ["B", "art 100 2", "Artikel", "Halle 1, Regal 5", "2024-05-02"],
        ["B", "art 100 3", "Artikel", "Halle 2, Regal 1", "2024-05-02 11:30:00"],
        ["B", "art 200 10", "Artikel", "Halle 2", "2024-05-02 11:31:00"],
        ["B", "art 200 11", "Artikel", "Halle 3", "2024-05-02 11:32:00"],
        ["B", "art 200 12", "Artikel", "Halle 3", "2024-05-02 11:33:00"],
        ["B", "art 400 7", "Artikel", "Halle 4, Regal 9", "2024-05-03 09:15:00"],
        ["B", "art 400 8", "Artikel", "Lager Süd; Tor 3\r\nRampe 2", "2024-05-03 09:16:00"],
    ]
    write_csv(ex("semicolon", "A.csv"), HEADER, a)
    write_csv(ex("semicolon", "B.csv"), ["System", "ItemID", "Typ", "Lagerort", "Stand"], b,
              delim=";", crlf=True, bom=True)


def gen_small(name):
    """The data of the dry-run and auto-approve examples: B and C each hold
    keys A lacks, one of them held by both."""
    a = [
        ["A", "INV-2024-0001", "invoice", "EU-WEST", "2024-05-01T08:00:00Z"],
        ["A", "INV-2024-0002", "invoice", "EU-WEST", "2024-05-01T08:05:00Z"],
        ["A", "SKU-KB-0071", "sku", "WH-BER-01", "2024-05-02T09:00:00Z"],
        ["A", "SKU-MS-0420", "sku", "WH-HAM-02", "2024-05-02T09:30:00Z"],
        ["A", "CUST-000512", "customer", "EU-CENTRAL", "2024-05-03"],
        ["A", "AST-EU-0033", "asset", "WH-MUC-03", "2024-05-04 12:00:00"],
    ]
    b = [
        ["B", "inv_2024_1", "invoice", "EU-WEST", "2024-05-05 10:00:00"],
        ["B", "inv_2024_2", "invoice", "EU-WEST", "2024-05-05 10:01:00"],
        ["B", "sku_kb_71", "sku", "WH-BER-01", "2024-05-05 10:03:00"],
        ["B", "cust_512", "customer", "EU-CENTRAL", "2024-05-05 10:04:00"],
        ["B", "inv_2024_7001", "invoice", "US-EAST", "2024-05-05 10:05:00"],
        ["B", "sku_dk_9001", "sku", "WH-RTM-04", "2024-05-05 10:07:00"],
    ]
    c = [
        ["C", "Inv.2024.0001", "invoice", "EU-WEST", "2024-05-06"],
        ["C", "SKU/KB/0071", "sku", "WH-BER-01", "2024-05-06"],
        ["C", "SKU/MS/420", "sku", "WH-HAM-02", "2024-05-06"],
        ["C", "AST/EU/33", "asset", "WH-MUC-03", "2024-05-06"],
        ["C", "SKU/DK/09001", "sku", "WH-RTM-04", "2024-05-06"],
        ["C", "Cust.0777", "customer", "US-WEST", "2024-05-06"],
    ]
    write_csv(ex(name, "A.csv"), HEADER, a)
    write_csv(ex(name, "B.csv"), HEADER, b)
    write_csv(ex(name, "C.csv"), HEADER, c)


# --- exports as ERP and CRM systems write them (issue real-exports) ---

REAL_A = [
    ["A", "LAG-1001", "pallet", "Lager Köln", "2026-12-01"],
    ["A", "LAG-1002", "pallet", "Lager Düsseldorf", "2026-12-01"],
    ["A", "LAG-1003", "crate", "Lager Zürich", "2026-12-01"],
    ["A", "LAG-1004", "crate", "Straße 4", "2026-12-01"],
]


def real_rows(system, keys):
    """Rows of system for keys, with non-ASCII text in every location."""
    locs = ["Lager Köln", "Lager Düsseldorf", "Lager Zürich", "Straße 4", "Ørsted-Kai", "Málaga Süd"]
    return [[system, k, "pallet", locs[i % len(locs)], "2026-12-0%d" % (1 + i % 3)] for i, k in enumerate(keys)]


def csv_text(header, rows, delim=",", eol="\r\n"):
    """The CSV text of rows (str fields, quoted only where needed)."""
    def q(v):
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in (delim, '"', "\r", "\n")) else v
    return "".join(delim.join(q(v) for v in r) + eol for r in ([header] if header else []) + rows)


def write_bytes(path, b):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b)


def gen_encodings():
    write_csv(ex("encodings", "A.csv"), HEADER, REAL_A)
    # B: a Windows-1252 export from an ERP on a German-locale PC (`;`, CRLF).
    b = real_rows("B", ["LAG-1001", "LAG-1002", "LAG-1003", "LAG-2001"])
    write_bytes(ex("encodings", "B.csv"), csv_text(HEADER, b, delim=";").encode("cp1252"))
    # C: Excel's "Unicode text": UTF-16LE with a BOM, tab-separated.
    c = real_rows("C", ["LAG-1001", "LAG-1004", "LAG-3001", "LAG-3002", "LAG-3003"])
    write_bytes(ex("encodings", "C.txt"), b"\xff\xfe" + csv_text(HEADER, c, delim="\t").encode("utf-16-le"))


def gen_compressed():
    import bz2
    import gzip
    import subprocess
    import zipfile
    write_csv(ex("compressed", "A.csv"), HEADER, REAL_A)
    b = csv_text(HEADER, real_rows("B", ["LAG-1001", "LAG-1002", "LAG-2001"])).encode()
    c = csv_text(HEADER, real_rows("C", ["LAG-1001", "LAG-1003", "LAG-3001"])).encode()
    d = csv_text(HEADER, real_rows("D", ["LAG-1002", "LAG-1004", "LAG-4001"])).encode()
    e = csv_text(HEADER, real_rows("E", ["LAG-1001", "LAG-1002", "LAG-1003", "LAG-5001"])).encode()
    write_bytes(ex("compressed", "B.csv.gz"), gzip.compress(b, mtime=0))
    # C's name does not say it is compressed: the first bytes do.
    write_bytes(ex("compressed", "C.export"),
                subprocess.run(["zstd", "-q", "-19", "-c"], input=c, capture_output=True, check=True).stdout)
    write_bytes(ex("compressed", "D.csv.bz2"), bz2.compress(d))
    path = ex("compressed", "E.zip")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("README.txt", (2026, 12, 1, 0, 0, 0)), "Export of system E\n")
        zi = zipfile.ZipInfo("export/E.csv", (2026, 12, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(zi, e)


def gen_daily_files():
    write_csv(ex("daily-files", "A.csv"), HEADER, REAL_A)
    # B: one file a day, each with its own header; read together (pick: all).
    days = {
        "B_20261201.csv": real_rows("B", ["LAG-1001", "LAG-1002"]),
        "B_20261202.csv": real_rows("B", ["LAG-1003", ""]),  # record 4: empty_key
        "B_20261203.csv": real_rows("B", ["LAG-2001"]),
    }
    for name, rows in days.items():
        write_bytes(ex("daily-files", name), csv_text(HEADER, rows).encode())
    # C: a full snapshot a day; only the latest counts (pick: last).
    import json
    for day, keys in (("20261130", ["LAG-1001", "LAG-9999"]), ("20261201", ["LAG-1001", "LAG-1002", "LAG-3001"])):
        items = [{"source_key": k, "location_ref": "Lager Köln"} for k in keys]
        write_bytes(ex("daily-files", "C_%s.json" % day), (json.dumps(items, ensure_ascii=False, indent=1) + "\n").encode())


def gen_header_less():
    write_csv(ex("header-less", "A.csv"), HEADER, REAL_A)
    # B: a SAP-style flat file without a header: company code, key, plant,
    # location, date, separated by `|`.
    rows = [["1000", k, "P01", loc, day] for (_, k, _, loc, day) in real_rows("B", ["LAG-1001", "LAG-1003", "LAG-2001", "LAG-2002"])]
    write_bytes(ex("header-less", "B.txt"), csv_text(None, rows, delim="|", eol="\n").encode())


def gen_filter():
    write_csv(ex("filter", "A.csv"), HEADER, REAL_A)
    # B: a CRM report that also lists archived records and test data.
    b = [
        ["B", "LAG-1001", "pallet", "Lager Köln", "2026-12-01"],
        ["B", "LAG-1002", "archived", "Lager Düsseldorf", "2026-12-01"],
        ["B", "test-0001", "pallet", "Testlager", "2026-12-01"],
        ["B", "LAG-1003", "crate", "Lager Zürich", "2026-12-01"],
        ["B", "LAG-2001", "crate", "Straße 4", "2026-12-02"],
        ["B", "LAG-2002", "archived", "Straße 4", "2026-13-01"],  # rejected: bad_timestamp
        ["B", "TEST-0002", "crate", "Testlager", "2026-12-02"],
    ]
    write_csv(ex("filter", "B.csv"), HEADER, b)


if __name__ == "__main__":
    gen_root()
    gen_namespaced()
    gen_semicolon()
    gen_small("dry-run")
    gen_small("auto-approve")
    gen_encodings()
    gen_compressed()
    gen_daily_files()
    gen_header_less()
    gen_filter()
