#!/usr/bin/env python3
"""Build static/vendor/worldmap/countries.json from Natural Earth TopoJSON.

Input
  * countries-110m.json  -- TopoJSON from the npm package ``world-atlas``
    (Natural Earth 1:110m Admin 0 countries, keyed by ISO 3166-1 *numeric*
    codes). A copy is vendored next to this script, so that is the default.
  * a numeric -> alpha-2 table, read as plain JSON (no imports beyond the
    standard library). Either
      - pycountry's ``pycountry/databases/iso3166-1.json`` (preferred; found
        via ``importlib.util.find_spec("pycountry")`` or in ``<repo>/.venv``),
      - or ``i18n-iso-countries/codes.json`` from the npm package of that name,
    or any such file passed with ``--codes``.

Output
  A JSON list, sorted by ``iso2``, of ``{"iso2", "name", "d"}`` where ``d`` is
  SVG path data for ``viewBox="0 0 1000 500"``: Natural Earth I projection
  (Savric et al., the same formula as d3-geo's ``geoNaturalEarth1``), fitted
  to the viewBox with a margin, coordinates rounded to 0.1. Each path starts
  its rings with an absolute ``M`` and continues with relative ``l``
  commands computed from the *rounded* absolute points, so no rounding error
  accumulates. Use ``fill-rule: evenodd`` (holes such as Lesotho inside
  South Africa).

Decisions
  * Antarctica (010) is dropped.
  * Kosovo has no ISO 3166-1 code; it gets the user-assigned code ``XK``
    (the one used by the EU, CLDR and most libraries).
  * Natural Earth's "N. Cyprus" and "Somaliland" have no ISO code either;
    they are merged (shared border removed) into CY and SO.
  * Rings crossing the antimeridian (Fiji, Russia's Chukotka) are unwrapped
    and cut at +/-180 degrees, so no horizontal streaks cross the map.

Usage
  python3 build_worldmap.py [--topojson PATH] [--codes PATH] [--out PATH]
"""

import argparse
import glob
import importlib.util
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

WIDTH, HEIGHT, MARGIN = 1000.0, 500.0, 5.0

DROP_IDS = {"010"}  # Antarctica

# Natural Earth features without an ISO numeric id (matched by NE name).
NO_ID_FEATURES = {
    "Kosovo": "XK",  # user-assigned code, not part of ISO 3166-1
    "N. Cyprus": "CY",  # merged into Cyprus
    "Somaliland": "SO",  # merged into Somalia
}

# Natural Earth 110m names are abbreviated for map labels; spell them out.
NAME_OVERRIDES = {
    "BA": "Bosnia and Herzegovina",
    "CD": "DR Congo",
    "CF": "Central African Republic",
    "DO": "Dominican Republic",
    "EH": "Western Sahara",
    "FK": "Falkland Islands",
    "GQ": "Equatorial Guinea",
    "MK": "North Macedonia",
    "SB": "Solomon Islands",
    "SS": "South Sudan",
    "SZ": "Eswatini",
    "TF": "French Southern Territories",
    "US": "United States",
}


# --------------------------------------------------------------------------
# numeric -> alpha-2 table


def find_codes_file():
    candidates = []
    spec = importlib.util.find_spec("pycountry")
    if spec and spec.origin:
        candidates.append(
            os.path.join(os.path.dirname(spec.origin), "databases", "iso3166-1.json")
        )
    candidates += sorted(
        glob.glob(
            os.path.join(
                REPO, ".venv", "lib", "python3*", "site-packages",
                "pycountry", "databases", "iso3166-1.json",
            )
        )
    )
    for base in (REPO, "/tmp/assets"):
        candidates.append(
            os.path.join(base, "node_modules", "i18n-iso-countries", "codes.json")
        )
    for c in candidates:
        if os.path.isfile(c):
            return c
    sys.exit(
        "no numeric->alpha-2 table found: install pycountry in .venv, or "
        "`npm install i18n-iso-countries` in /tmp/assets, or pass --codes"
    )


def load_codes(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    table = {}
    if isinstance(data, dict) and "3166-1" in data:  # pycountry
        for c in data["3166-1"]:
            table[c["numeric"]] = c["alpha_2"]
    elif isinstance(data, list):  # i18n-iso-countries: [a2, a3, numeric, ...]
        for row in data:
            table[row[2]] = row[0]
    else:
        sys.exit("unrecognised code table format: %s" % path)
    return table


# --------------------------------------------------------------------------
# TopoJSON decoding and merging


def decode_arcs(topo):
    """Absolute quantized integer points for every arc."""
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x, y))
        out.append(pts)
    return out


def arc_points(arcs, i):
    return arcs[i] if i >= 0 else arcs[~i][::-1]


def rings_of(geom):
    if geom["type"] == "Polygon":
        return [list(r) for r in geom["arcs"]]
    if geom["type"] == "MultiPolygon":
        return [list(r) for poly in geom["arcs"] for r in poly]
    return []


def merge_rings(arcs, ring_lists):
    """Union of several countries' rings: drop arcs shared between them and
    stitch the remaining directed arcs back into closed rings."""
    refs = [i for rings in ring_lists for ring in rings for i in ring]
    absolute = {}
    for i in refs:
        absolute.setdefault(i if i >= 0 else ~i, set()).add(i >= 0)
    shared = {k for k, dirs in absolute.items() if len(dirs) == 2}
    remaining = [i for i in refs if (i if i >= 0 else ~i) not in shared]
    by_start = {}
    for i in remaining:
        by_start.setdefault(arc_points(arcs, i)[0], []).append(i)
    used = set()
    rings = []
    for first in remaining:
        if first in used:
            continue
        ring, cur = [], first
        while cur is not None and cur not in used:
            used.add(cur)
            ring.append(cur)
            end = arc_points(arcs, cur)[-1]
            nxt = [j for j in by_start.get(end, []) if j not in used]
            cur = nxt[0] if nxt else None
        rings.append(ring)
    return rings


def ring_lonlat(arcs, ring, transform):
    (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
    pts = []
    for i in ring:
        p = arc_points(arcs, i)
        pts.extend(p if not pts else p[1:])
    return [(x * sx + tx, y * sy + ty) for x, y in pts]


# --------------------------------------------------------------------------
# antimeridian cutting


def clip_half_plane(pts, keep, cross_x):
    """Sutherland-Hodgman against one vertical line (closed ring in/out)."""
    out = []
    n = len(pts)
    for k in range(n):
        cur, prev = pts[k], pts[k - 1]
        cin, pin = keep(cur), keep(prev)
        if cin:
            if not pin:
                out.append(intersect(prev, cur, cross_x))
            out.append(cur)
        elif pin:
            out.append(intersect(prev, cur, cross_x))
    return out


def intersect(a, b, x):
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def cut_antimeridian(pts):
    """Return one or more rings, each within [-180, 180] longitude."""
    if pts[0] == pts[-1]:
        pts = pts[:-1]
    if not any(abs(a[0] - b[0]) > 180 for a, b in zip(pts, pts[1:] + pts[:1])):
        return [pts]
    un = [pts[0]]
    for lon, lat in pts[1:]:
        plon = un[-1][0]
        while lon - plon > 180:
            lon -= 360
        while lon - plon < -180:
            lon += 360
        un.append((lon, lat))
    if abs(un[-1][0] - un[0][0]) > 180:  # encircles a pole; leave as is
        return [pts]
    pieces = []
    middle = clip_half_plane(un, lambda p: p[0] <= 180, 180)
    middle = clip_half_plane(middle, lambda p: p[0] >= -180, -180)
    east = clip_half_plane(un, lambda p: p[0] >= 180, 180)
    west = clip_half_plane(un, lambda p: p[0] <= -180, -180)
    pieces.append(middle)
    pieces.append([(lon - 360, lat) for lon, lat in east])
    pieces.append([(lon + 360, lat) for lon, lat in west])
    return [p for p in pieces if len(p) >= 3]


def densify_edge(pts, step=2.0):
    """Add points along edges that follow the antimeridian, whose projected
    image is a curve, not a straight line."""
    out = []
    n = len(pts)
    for k in range(n):
        a, b = pts[k], pts[(k + 1) % n]
        out.append(a)
        if abs(a[0]) >= 179.999 and abs(b[0]) >= 179.999 and a[0] * b[0] > 0:
            steps = int(abs(b[1] - a[1]) / step)
            for s in range(1, steps):
                out.append((a[0], a[1] + (b[1] - a[1]) * s / steps))
    return out


# --------------------------------------------------------------------------
# projection


def natural_earth1(lon, lat):
    lam, phi = math.radians(lon), math.radians(lat)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (0.8707 - 0.131979 * phi2
               + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4)))
    y = phi * (1.007226 + phi2 * (0.015085
               + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)))
    return x, y


def path_data(rings):
    """rings: lists of (x, y) in viewBox units -> compact SVG path data."""
    parts = []
    for ring in rings:
        q = []
        for x, y in ring:
            p = (int(round(x * 10)), int(round(y * 10)))
            if not q or q[-1] != p:
                q.append(p)
        while len(q) > 1 and q[-1] == q[0]:
            q.pop()
        if len(q) < 3:
            continue
        s = "M" + fmt(q[0][0]) + " " + fmt(q[0][1]) + "l"
        prev = q[0]
        first = True
        for p in q[1:]:
            dx, dy = p[0] - prev[0], p[1] - prev[1]
            ds = fmt(dx)
            if not first and not ds.startswith("-"):
                s += " "
            dys = fmt(dy)
            s += ds + ("" if dys.startswith("-") else " ") + dys
            prev = p
            first = False
        parts.append(s + "z")
    return "".join(parts)


def fmt(tenths):
    """Integer tenths -> shortest decimal string ("12.3", "-4", "0.5")."""
    sign = "-" if tenths < 0 else ""
    a = abs(tenths)
    whole, frac = divmod(a, 10)
    return sign + (str(whole) if frac == 0 else "%d.%d" % (whole, frac))


# --------------------------------------------------------------------------


def build(topo_path, codes_path):
    with open(topo_path, encoding="utf-8") as f:
        topo = json.load(f)
    codes = load_codes(codes_path)
    arcs = decode_arcs(topo)
    transform = topo["transform"]

    groups = {}  # iso2 -> {"name", "rings": [rings per feature]}
    for g in topo["objects"]["countries"]["geometries"]:
        num = g.get("id")
        ne_name = g.get("properties", {}).get("name", "")
        if num in DROP_IDS:
            continue
        if num is None:
            if ne_name not in NO_ID_FEATURES:
                sys.exit("feature without id and no rule: %r" % ne_name)
            iso2 = NO_ID_FEATURES[ne_name]
        else:
            if num not in codes:
                sys.exit("numeric code %s (%s) not in %s" % (num, ne_name, codes_path))
            iso2 = codes[num]
        entry = groups.setdefault(iso2, {"name": None, "features": []})
        if num is not None or iso2 == "XK":
            entry["name"] = ne_name
        entry["features"].append(rings_of(g))

    # lon/lat rings, antimeridian cut
    lonlat = {}
    for iso2, entry in groups.items():
        feats = entry["features"]
        arc_rings = feats[0] if len(feats) == 1 else merge_rings(arcs, feats)
        rings = []
        for r in arc_rings:
            for piece in cut_antimeridian(ring_lonlat(arcs, r, transform)):
                rings.append(densify_edge(piece))
        lonlat[iso2] = rings

    # fit the projected extent into the viewBox (like d3's fitExtent)
    xs, ys = [], []
    for rings in lonlat.values():
        for ring in rings:
            for lon, lat in ring:
                x, y = natural_earth1(lon, lat)
                xs.append(x)
                ys.append(y)
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    k = min((WIDTH - 2 * MARGIN) / (x1 - x0), (HEIGHT - 2 * MARGIN) / (y1 - y0))
    tx = (WIDTH - k * (x1 + x0)) / 2
    ty = (HEIGHT + k * (y1 + y0)) / 2  # y axis flipped

    out = []
    for iso2 in sorted(lonlat):
        rings = []
        for ring in lonlat[iso2]:
            pr = []
            for lon, lat in ring:
                x, y = natural_earth1(lon, lat)
                pr.append((tx + k * x, ty - k * y))
            rings.append(pr)
        name = NAME_OVERRIDES.get(iso2, groups[iso2]["name"])
        out.append({"iso2": iso2, "name": name, "d": path_data(rings)})
    params = {"scale": k, "translate": (tx, ty)}
    return out, params


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--topojson", default=os.path.join(HERE, "countries-110m.json"))
    ap.add_argument("--codes", default=None, help="pycountry iso3166-1.json or "
                    "i18n-iso-countries codes.json (default: auto-detect)")
    ap.add_argument("--out", default=os.path.join(HERE, "countries.json"))
    args = ap.parse_args()
    codes_path = args.codes or find_codes_file()
    countries, params = build(args.topojson, codes_path)
    text = "[\n" + ",\n".join(
        json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in countries
    ) + "\n]\n"
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(
        "wrote %s: %d countries, %d bytes (codes: %s; projection: Natural Earth I,"
        " x = %.4f + %.4f * X, y = %.4f - %.4f * Y)"
        % (args.out, len(countries), len(text.encode("utf-8")), codes_path,
           params["translate"][0], params["scale"], params["translate"][1],
           params["scale"]),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
