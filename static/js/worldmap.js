// worldmap.js -- render the vendored Natural Earth country outlines
// (static/vendor/worldmap/countries.json) into an inline <svg>, coloured by
// status. No dependencies, no network access beyond the same-origin JSON.
//
//   import { renderWorldMap } from "/static/js/worldmap.js";
//   const svg = await renderWorldMap(document.getElementById("map"), {
//     countries: { RS: "deployed", LT: "banned",
//                  FI: { status: "contracted", label: "2 contracts" } },
//     legend: { deployed: "Deployed", banned: "Banned" },  // or true / false
//     onClick(iso2, info, event) { ... },   // info = {iso2, name, status, label}
//     label: "Deployments by country",      // aria-label of the <svg>
//     dataUrl: "/static/vendor/worldmap/countries.json",  // optional
//   });
//
// Every string that comes from the caller (labels, legend text) is inserted
// with textContent / setAttribute, never as markup.

const SVG_NS = "http://www.w3.org/2000/svg";
const VIEWBOX = "0 0 1000 500";

export const STATUSES = ["deployed", "contracted", "donated", "banned", "cancelled"];

export const DEFAULT_LABELS = {
  deployed: "Deployed",
  contracted: "Contracted",
  donated: "Donated",
  banned: "Banned",
  cancelled: "Cancelled",
};

const DEFAULT_DATA_URL = new URL("../vendor/worldmap/countries.json", import.meta.url).href;
const cache = new Map();

/** Fetch (once per URL) the list of {iso2, name, d}. */
export function loadCountries(url = DEFAULT_DATA_URL) {
  if (!cache.has(url)) {
    const p = fetch(url, { credentials: "same-origin" }).then((r) => {
      if (!r.ok) throw new Error(`worldmap: ${url}: HTTP ${r.status}`);
      return r.json();
    });
    p.catch(() => cache.delete(url));
    cache.set(url, p);
  }
  return cache.get(url);
}

function statusOf(value) {
  const raw = value && typeof value === "object" ? value.status : value;
  const s = String(raw ?? "").toLowerCase();
  return /^[a-z][a-z0-9-]{0,40}$/.test(s) ? s : null;
}

function svgEl(name, attrs = {}) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * Render the map into `container` (its previous content is replaced).
 * Returns a Promise of the <svg> element.
 */
export async function renderWorldMap(container, options = {}) {
  const {
    countries = {},
    legend = true,
    onClick = null,
    label = null,
    data = null,
    dataUrl = container.dataset.worldmapUrl || DEFAULT_DATA_URL,
  } = options;

  const shapes = data || (await loadCountries(dataUrl));
  const legendLabels = legend && typeof legend === "object" ? legend : {};
  const statusLabel = (s) => legendLabels[s] ?? DEFAULT_LABELS[s] ?? s;

  const svg = svgEl("svg", {
    viewBox: VIEWBOX,
    class: "worldmap",
    preserveAspectRatio: "xMidYMid meet",
    focusable: "false",
  });
  const base = svgEl("g", { class: "worldmap-base" });
  const marked = svgEl("g", { class: "worldmap-marked" });
  svg.append(base, marked);

  const counts = {};
  const markedPaths = [];
  for (const c of shapes) {
    const value = Object.prototype.hasOwnProperty.call(countries, c.iso2)
      ? countries[c.iso2]
      : undefined;
    const status = value === undefined ? null : statusOf(value);
    const path = svgEl("path", { d: c.d, class: "worldmap-country", "data-iso2": c.iso2 });
    const title = svgEl("title");
    path.appendChild(title);

    if (!status) {
      title.textContent = c.name;
      base.appendChild(path);
      continue;
    }
    counts[status] = (counts[status] || 0) + 1;
    const extra = value && typeof value === "object" && value.label != null ? String(value.label) : "";
    const text = `${c.name}: ${statusLabel(status)}${extra ? ` (${extra})` : ""}`;
    title.textContent = text;
    path.classList.add(STATUSES.includes(status) ? `status-${status}` : "status-other");
    path.setAttribute("data-status", status);
    path.setAttribute("tabindex", "0");
    path.setAttribute("aria-label", text);
    path.setAttribute("role", onClick ? "button" : "img");
    if (onClick) {
      const info = { iso2: c.iso2, name: c.name, status, label: extra || null };
      path.addEventListener("click", (ev) => onClick(c.iso2, info, ev));
      path.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          onClick(c.iso2, info, ev);
        }
      });
    }
    markedPaths.push({ name: c.name, path });
  }
  // coloured countries drawn last (outlines on top), tab order by name
  markedPaths.sort((a, b) => a.name.localeCompare(b.name));
  for (const { path } of markedPaths) marked.appendChild(path);

  const summary = Object.entries(counts)
    .map(([s, n]) => `${n} ${statusLabel(s).toLowerCase()}`)
    .join(", ");
  const ariaLabel = (label ? String(label) : "World map") + (summary ? ` (${summary})` : "");
  svg.setAttribute("aria-label", ariaLabel);
  // A role="img" hides its children from assistive technology, so use it only
  // when there is nothing focusable inside; otherwise a labelled group.
  svg.setAttribute("role", markedPaths.length ? "group" : "img");

  const nodes = [svg];
  if (legend) {
    const keys = typeof legend === "object"
      ? Object.keys(legend)
      : STATUSES.filter((s) => counts[s]).concat(Object.keys(counts).filter((s) => !STATUSES.includes(s)));
    if (keys.length) {
      const ul = document.createElement("ul");
      ul.className = "worldmap-legend";
      ul.setAttribute("aria-label", "Legend");
      for (const key of keys) {
        const s = statusOf(key) || "other";
        const li = document.createElement("li");
        const sw = document.createElement("span");
        sw.className = `worldmap-swatch ${STATUSES.includes(s) ? `status-${s}` : "status-other"}`;
        sw.setAttribute("aria-hidden", "true");
        const txt = document.createElement("span");
        txt.textContent = statusLabel(key) + (counts[s] ? ` (${counts[s]})` : "");
        li.append(sw, txt);
        ul.appendChild(li);
      }
      nodes.push(ul);
    }
  }
  container.classList.add("worldmap-container");
  container.replaceChildren(...nodes);
  return svg;
}

export default renderWorldMap;
