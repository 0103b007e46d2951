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
        // Edge labels stay hidden in the default view (they would pile on the node labels) and
        // show once zoomed in (a font of 8 drawn at 14 px or more), on hover and on selection.
        "min-zoomed-font-size": 14,
      } },
      { selector: "edge.hover, edge:selected", style: { "min-zoomed-font-size": 0, "z-index": 10 } },
      { selector: "edge:selected", style: { width: 4 } },
    ],
    // The centre in the middle, its neighbours on three rings grouped by kind (a star of
    // dozens of nodes on one ring would be too wide to read).
    layout: { name: "concentric", animate: false, padding: 20, minNodeSpacing: 18, levelWidth: () => 1,
              nodeDimensionsIncludeLabels: true,
              concentric: (n) => (n.id() === data.center ? 10 : ringOf(n)) },
  });
  separateLabels(cy);
  cy.fit(undefined, 20);
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

  // The view's state lives in the URL: the filters are the form's query string, the
  // expanded nodes `expand=<uid>` (in order), so a shared link rebuilds the same view.
  let recordState = true;
  function writeState() {
    const url = new URL(window.location.href);
    url.searchParams.delete("expand");
    for (const id of expanded) if (id !== data.center) url.searchParams.append("expand", id);
    window.history.replaceState(null, "", url);
    const share = document.getElementById("share-url");
    if (share) share.value = url.href;
  }

  async function expand(uid) {
    if (!uid || expanded.has(uid)) return;
    expanded.add(uid);
    const url = new URL(container.dataset.jsonUrl.replace(data.center, uid), window.location.href);
    const params = new URLSearchParams(window.location.search);
    for (const [k, v] of params) if (k !== "expand") url.searchParams.append(k, v);
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
    // Only the new nodes give way, so what the analyst has already read stays put.
    separateLabels(cy, cy.collection(freshNodes.map((el) => cy.getElementById(el.data.id))));
    cy.fit(undefined, 20);
    if (recordState) writeState();
    const status = document.getElementById("explorer-status");
    if (status) status.textContent = `${more.edges.length} connections of ${more.nodes.find((n) => n.id === uid)?.label || "the entity"} added.`;
  }

  cy.on("mouseover", "edge", (ev) => ev.target.addClass("hover"));
  cy.on("mouseout", "edge", (ev) => ev.target.removeClass("hover"));
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

  document.getElementById("share-button")?.addEventListener("click", async () => {
    writeState();
    const field = document.getElementById("share-url");
    const note = document.getElementById("share-note");
    field.hidden = false;
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      if (note) note.textContent = "Link copied: it opens this view with the same filters and expanded nodes.";
    } catch (err) {
      if (note) note.textContent = "Copy the link above: it opens this view with the same filters and expanded nodes.";
    }
  });

  // Rebuild a shared view: expand the nodes named in the URL, in order.
  (async () => {
    recordState = false;
    for (const id of new URLSearchParams(window.location.search).getAll("expand")) {
      if (cy.getElementById(id).nonempty()) await expand(id);
    }
    recordState = true;
    writeState();
    container.dataset.restored = "1";
  })();
}

// Push nodes apart until no two boxes (the node with its label) overlap: the concentric
// layout spaces the rings by node size, but a label is wider than its node. Boxes are in
// model coordinates, so the result holds at any zoom. Only `movable` nodes move (all by
// default); a few hundred nodes at most, so the pairwise pass is cheap.
function separateLabels(cy, movable = cy.nodes(), { gap = 4, rounds = 200 } = {}) {
  const nodes = cy.nodes().toArray();
  const canMove = new Set(movable.map((n) => n.id()));
  const boxes = new Map();
  const boxOf = (n) => {
    if (!boxes.has(n.id())) {
      const b = n.boundingBox({ includeLabels: true, includeOverlays: false, includeEdges: false });
      const p = n.position();
      boxes.set(n.id(), { dx1: b.x1 - p.x, dx2: b.x2 - p.x, dy1: b.y1 - p.y, dy2: b.y2 - p.y });
    }
    const r = boxes.get(n.id());
    const p = n.position();
    return { x1: p.x + r.dx1 - gap / 2, x2: p.x + r.dx2 + gap / 2, y1: p.y + r.dy1 - gap / 2, y2: p.y + r.dy2 + gap / 2 };
  };
  for (let round = 0; round < rounds; round++) {
    let moved = false;
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) {
        const a = nodes[i], b = nodes[j];
        const ma = canMove.has(a.id()), mb = canMove.has(b.id());
        if (!ma && !mb) continue;
        const A = boxOf(a), B = boxOf(b);
        const ox = Math.min(A.x2, B.x2) - Math.max(A.x1, B.x1);
        const oy = Math.min(A.y2, B.y2) - Math.max(A.y1, B.y1);
        if (ox <= 0 || oy <= 0) continue;
        // Move along the axis that needs the smaller push, away from each other.
        const pa = a.position(), pb = b.position();
        const share = ma && mb ? 0.5 : 1;
        if (ox < oy) {
          const dir = pa.x < pb.x || (pa.x === pb.x && i < j) ? -1 : 1;
          if (ma) a.position({ x: pa.x + dir * (ox + 0.5) * share, y: pa.y });
          if (mb) b.position({ x: pb.x - dir * (ox + 0.5) * share, y: pb.y });
        } else {
          const dir = pa.y < pb.y || (pa.y === pb.y && i < j) ? -1 : 1;
          if (ma) a.position({ x: pa.x, y: pa.y + dir * (oy + 0.5) * share });
          if (mb) b.position({ x: pb.x, y: pb.y - dir * (oy + 0.5) * share });
        }
        moved = true;
      }
    }
    if (!moved) break;
  }
}

const mapEl = document.getElementById("deployment-map");
if (mapEl) initMap(mapEl).catch((err) => { mapEl.textContent = "The map could not be drawn."; console.error(err); });
const explorerEl = document.getElementById("explorer");
if (explorerEl) initExplorer(explorerEl);
