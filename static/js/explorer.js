// explorer.js -- the interactive pieces of the browsing pages (an ES module):
//  * #deployment-map: the world map of a vendor's deployments (static/js/worldmap.js);
//  * #explorer: the connections explorer (Cytoscape.js, loaded before as a global).
// Data comes from <script type="application/json"> blocks written by Django's json_script
// and from same-origin JSON endpoints. Labels reach the page only as Cytoscape data (drawn
// on a canvas) or through textContent; nothing from the data is parsed as markup.
import { renderWorldMap } from "./worldmap.js";

function readJson(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

// --- deployments map ----------------------------------------------------------------------
async function initMap(container) {
  const countries = readJson("deployment-map-data") || {};
  const legend = readJson("deployment-map-legend") || true;
  const countryUrl = container.dataset.countryUrl || "";
  await renderWorldMap(container, {
    countries,
    legend,
    label: container.dataset.mapLabel || "Deployments by country",
    onClick(iso2) {
      // Jump to the country's rows in the table when present, else to the country page.
      const rows = document.getElementById(`country-${iso2}`);
      if (rows) {
        rows.scrollIntoView({ behavior: "smooth", block: "start" });
        const link = rows.querySelector("a");
        if (link) link.focus({ preventScroll: true });
      } else if (countryUrl) {
        window.location.href = countryUrl.replace("XX", encodeURIComponent(iso2));
      }
    },
  });
  container.dataset.ready = "1";
}

// --- connections explorer ---------------------------------------------------------------
const KIND_COLORS = {
  company: "#1f5fbf", person: "#8a4fbf", public_body: "#2e7d32", organization: "#b26a00",
  country: "#c62828", site: "#546e7a",
};
const EDGE_COLORS = {
  ownership: "#c62828", role: "#8a4fbf", contract: "#1f5fbf", ban: "#d55e00", loan: "#009e73",
  donation: "#2e7d32", deployment: "#0072b2", investigation: "#b26a00", court_case: "#6d4c41",
  statement: "#9e9e9e",
};

function toElements(data) {
  const nodes = data.nodes.map((n) => ({
    group: "nodes",
    data: { id: n.id, label: n.label, kind: n.kind, country: n.country, state: n.state ? 1 : 0 },
  }));
  const edges = data.edges.map((e) => ({
    group: "edges",
    data: { id: e.id, source: e.source, target: e.target, kind: e.kind, label: e.label, title: e.title },
  }));
  return nodes.concat(edges);
}

const KIND_ORDER = ["country", "public_body", "company", "organization", "person", "site"];
function ringOf(node) {
  const siblings = node.cy().nodes().sort((a, b) => KIND_ORDER.indexOf(a.data("kind")) - KIND_ORDER.indexOf(b.data("kind"))
    || String(a.data("label")).localeCompare(String(b.data("label"))));
  return 1 + (siblings.indexOf(node) % 3);
}

function initExplorer(container) {
  if (typeof window.cytoscape !== "function") return;
  const data = readJson("explorer-data");
  if (!data) return;
  const detail = document.getElementById("edge-detail");
  const select = document.getElementById("expand-node");
  const cardUrl = (uid) => container.dataset.cardUrl.replace("00000000-0000-0000-0000-000000000000", uid);
  const entityUrl = (uid) => container.dataset.entityUrl.replace("00000000-0000-0000-0000-000000000000", uid);
  const expanded = new Set([data.center]);

  const cy = window.cytoscape({
    container,
    elements: toElements(data),
    style: [
      { selector: "node", style: {
        "background-color": (n) => KIND_COLORS[n.data("kind")] || "#777",
        label: "data(label)", "font-size": 10, "text-wrap": "ellipsis", "text-max-width": 120,
        "text-valign": "bottom", "text-margin-y": 3, width: 18, height: 18, color: "#1d2430",
      } },
      { selector: "node[state = 1]", style: { shape: "diamond", width: 22, height: 22 } },
      { selector: `node[id = "${CSS.escape(data.center)}"]`, style: { width: 30, height: 30, "font-weight": "bold" } },
      { selector: "node.expanded", style: { "border-width": 3, "border-color": "#f2a900" } },
      { selector: "edge", style: {
        width: 2, "curve-style": "bezier", "target-arrow-shape": "triangle", "arrow-scale": 0.8,
        "line-color": (e) => EDGE_COLORS[e.data("kind")] || "#999",
        "target-arrow-color": (e) => EDGE_COLORS[e.data("kind")] || "#999",
        label: "data(label)", "font-size": 8, color: "#5b6577", "text-rotation": "autorotate",
        "text-background-color": "#fff", "text-background-opacity": 0.8, "text-background-padding": 1,
        "min-zoomed-font-size": 14,
      } },
      { selector: "edge:selected", style: { width: 4 } },
    ],
    // The centre in the middle, its neighbours on three rings grouped by kind (a star of
    // dozens of nodes on one ring would be too wide to read).
    layout: { name: "concentric", animate: false, padding: 20, minNodeSpacing: 18, levelWidth: () => 1,
              concentric: (n) => (n.id() === data.center ? 10 : ringOf(n)) },
  });
  cy.getElementById(data.center).addClass("expanded");
  container.dataset.ready = "1";
  window.vendorgraphExplorer = cy; // for the browser tests and the curious

  function showRecord(uid) {
    if (!detail) return;
    detail.setAttribute("aria-busy", "true");
    window.htmx.ajax("GET", cardUrl(uid), { target: detail, swap: "innerHTML" }).finally(() => {
      detail.removeAttribute("aria-busy");
    });
  }

  function addOption(id, label) {
    if (!select || select.querySelector(`option[value="${CSS.escape(id)}"]`)) return;
    const opt = document.createElement("option");
    opt.value = id;
    opt.textContent = label;
    select.appendChild(opt);
  }

  async function expand(uid) {
    if (!uid || expanded.has(uid)) return;
    expanded.add(uid);
    const url = new URL(container.dataset.jsonUrl.replace(data.center, uid), window.location.href);
    const params = new URLSearchParams(window.location.search);
    for (const [k, v] of params) url.searchParams.append(k, v);
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) {
      // Say why (rate limit, a neighbourhood too large to compute, the graph down).
      expanded.delete(uid);
      const failed = await response.json().catch(() => ({}));
      const note = document.getElementById("explorer-status");
      if (note) note.textContent = failed.error || `This node could not be expanded (HTTP ${response.status}).`;
      return;
    }
    const more = await response.json();
    const fresh = toElements(more).filter((el) => cy.getElementById(el.data.id).empty());
    // Only the new nodes move: they go on a ring around the expanded node, so what the
    // analyst has already read stays where it was.
    const origin = cy.getElementById(uid).position();
    const freshNodes = fresh.filter((el) => el.group === "nodes");
    const radius = 90 + 6 * freshNodes.length;
    freshNodes.forEach((el, i) => {
      const angle = (2 * Math.PI * i) / Math.max(freshNodes.length, 1);
      el.position = { x: origin.x + radius * Math.cos(angle), y: origin.y + radius * Math.sin(angle) };
    });
    cy.add(fresh);
    cy.getElementById(uid).addClass("expanded");
    for (const n of more.nodes) addOption(n.id, n.label);
    cy.fit(undefined, 20);
    const status = document.getElementById("explorer-status");
    if (status) status.textContent = `${more.edges.length} connections of ${more.nodes.find((n) => n.id === uid)?.label || "the entity"} added.`;
  }

  cy.on("tap", "node", (ev) => expand(ev.target.id()));
  cy.on("dbltap", "node", (ev) => { window.location.href = entityUrl(ev.target.id()); });
  cy.on("tap", "edge", (ev) => showRecord(ev.target.id()));
  document.getElementById("expand-button")?.addEventListener("click", () => expand(select?.value));
  document.getElementById("fit-button")?.addEventListener("click", () => cy.fit(undefined, 20));

  const live = document.createElement("p");
  live.id = "explorer-status";
  live.className = "visually-hidden";
  live.setAttribute("aria-live", "polite");
  container.after(live);
}

const mapEl = document.getElementById("deployment-map");
if (mapEl) initMap(mapEl).catch((err) => { mapEl.textContent = "The map could not be drawn."; console.error(err); });
const explorerEl = document.getElementById("explorer");
if (explorerEl) initExplorer(explorerEl);
