// qistream dashboard: one module, no build step. It reads the node's /api with the bearer token the page keeps
// (from ?token=… once, or typed in), follows /api/events (Server-Sent Events read with fetch, so the token goes
// in a header and a reconnect sends Last-Event-ID), and renders the tree, agents, lag, prices and records.
// Every view carries data-* attributes (state, counts, values) that tests and scripts can read.
import uPlot from "./vendor/uPlot.esm.js";

const TOKEN_KEY = "qistream.token";
const MAX_POINTS = 600;
const MAX_ITEMS = 100;

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
};
const fmt = (n, digits = 1) => (typeof n === "number" ? n.toFixed(digits) : "–");

// ---- the token: carried once by the link, then kept by the page ----
const fromLink = new URLSearchParams(location.search).get("token");
if (fromLink) {
  localStorage.setItem(TOKEN_KEY, fromLink);
  history.replaceState(null, "", location.pathname); // the token leaves the address bar and the history
}
let token = localStorage.getItem(TOKEN_KEY);
let admin = false;

function api(path, init = {}) {
  return fetch(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
}

async function signIn() {
  if (!token) return showLogin();
  const res = await api("/api/whoami").catch((e) => ({ ok: false, status: 0, error: e }));
  if (!res.ok) {
    return showLogin(
      res.status === 401
        ? "That token is not valid for this node."
        : `Cannot reach the node (${res.status}).`,
    );
  }
  const me = await res.json();
  admin = me.admin;
  $("whoami").textContent = `${me.caller} (${me.role}${
    admin ? ", may pause/resume/stop/start/restart" : ", read only"
  })`;
  $("whoami").dataset.admin = String(admin);
  $("dlq-replay").hidden = !admin;
  $("login").hidden = true;
  $("main").hidden = false;
  follow();
}

function showLogin(message = "") {
  $("main").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token").value.trim();
  localStorage.setItem(TOKEN_KEY, token);
  signIn();
});
$("forget").addEventListener("click", () => {
  localStorage.removeItem(TOKEN_KEY);
  location.reload();
});

// ---- the event stream: SSE over fetch, resumed with Last-Event-ID ----
let lastEventId = null;
const handlers = {};

async function follow() {
  let delay = 500;
  for (;;) {
    try {
      const headers = lastEventId ? { "last-event-id": lastEventId } : {};
      const res = await api("/api/events", { headers });
      if (res.status === 401) return showLogin("The token was refused.");
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setConnection("live");
      delay = 500;
      await readEvents(res.body, (event) => {
        if (event.id) lastEventId = event.id;
        handlers[event.type]?.(event.data);
      });
    } catch (error) {
      console.warn("event stream:", error);
    }
    setConnection("reconnecting");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

function setConnection(state) {
  const c = $("connection");
  c.dataset.connection = state;
  c.textContent = state === "live" ? "live" : "reconnecting…";
  if (state === "live") c.dataset.connects = String(Number(c.dataset.connects ?? 0) + 1);
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { type: "message", data: "" };
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "id") event.id = val;
        else if (field === "event") event.type = val;
        else if (field === "data") event.data += val;
      }
      if (event.data) onEvent({ ...event, data: JSON.parse(event.data) });
    }
  }
}

// ---- state: agents, tree, lag ----
function bump(node) {
  node.dataset.updates = String(Number(node.dataset.updates ?? 0) + 1);
}

handlers.state = (s) => {
  $("node").textContent = s.node ? `node ${s.node}` : "";
  if (s.tree) renderTree(s.tree);
  renderAgents(s);
  renderLag(s.lag ?? []);
};

handlers.reset = (data) => {
  if (data.closing) return;
  for (const id of ["alerts", "insights", "deadletters"]) {
    $(id).replaceChildren();
    $(id).dataset.count = "0";
  }
  for (const chart of charts.values()) chart.el.remove();
  charts.clear();
  alerts.length = 0;
  insightsByAlert.clear();
};

function renderAgents(s) {
  const tbody = $("agents").querySelector("tbody");
  const rows = (s.agents ?? []).map((a) => {
    const lag = (s.lag ?? []).filter((l) => l.group === s.groups?.[a.agent]);
    const records = lag.reduce((n, l) => n + l.records, 0);
    const seconds = lag.reduce((m, l) => Math.max(m, l.seconds), 0);
    const rate = s.throughput?.[a.agent] ?? {};
    const actions = !admin
      ? []
      : a.desired === "stopped"
      ? ["start"]
      : [...(a.role === "consumer" ? [a.desired === "paused" ? "resume" : "pause"] : []), "restart", "stop"];
    return el(
      "tr",
      {
        "data-agent": a.agent,
        "data-role": a.role,
        "data-state": a.state,
        "data-desired": a.desired,
        "data-lag": a.role === "consumer" ? records : undefined,
        "data-lag-seconds": a.role === "consumer" ? seconds : undefined,
        "data-in": rate.in,
        "data-out": rate.out,
      },
      el("td", {}, a.agent),
      el("td", {}, a.role),
      el("td", { "data-state": a.state }, a.state),
      el("td", { title: a.by ? `by ${a.by} at ${a.at}` : "" }, a.desired),
      el("td", {}, fmt(rate.in)),
      el("td", {}, fmt(rate.out)),
      el("td", {}, a.role === "consumer" ? String(records) : ""),
      el("td", {}, a.role === "consumer" ? fmt(seconds) : ""),
      el(
        "td",
        {},
        ...actions.map((verb) =>
          el("button", { type: "button", "data-action": verb, onclick: () => command(a.agent, verb) }, verb)
        ),
      ),
    );
  });
  tbody.replaceChildren(...rows);
  bump($("agents"));
}

async function command(agent, verb) {
  const out = $("action-result");
  out.textContent = `${verb} ${agent}…`;
  const res = await api(`/api/agents/${encodeURIComponent(agent)}/${verb}`, { method: "POST" });
  const body = await res.json().catch(() => ({}));
  out.textContent = res.ok
    ? `${verb} ${agent}: now ${body.agent.state} (desired ${body.agent.desired})`
    : `${verb} ${agent} failed: ${body.error ?? res.status}`;
  out.dataset.last = `${verb}:${res.status}`;
}

function renderTree(tree) {
  const nodeOf = (n) => {
    const facts = [];
    if (n.type === "actor") {
      facts.push(
        `mailbox ${n.mailboxDepth}`,
        `inflight ${n.inflight}/${n.creditWindow}`,
        `processed ${n.processed}`,
      );
    }
    if (n.type === "dispatcher") {
      facts.push(
        `group ${n.group}`,
        `membership ${n.subscription.state}`,
        `${n.partitions.length} partition(s)`,
      );
      if (n.paused) facts.push(`paused by ${n.paused.by}`);
    }
    if (n.type === "supervisor") facts.push(n.strategy, `intensity ${n.intensity.recent}/${n.intensity.max}`);
    const state = n.type === "dispatcher" && n.paused ? "paused" : n.state;
    return el(
      "div",
      {
        class: "tree-node",
        "data-path": n.path,
        "data-type": n.type,
        "data-state": state,
        "data-restarts": n.restarts,
      },
      el(
        "div",
        { class: "tree-line" },
        el("span", {}, n.id),
        el("span", { "data-state": state }, state),
        el("span", { class: "muted" }, `restarts ${n.restarts}`),
        el("span", { class: "muted" }, facts.join(" · ")),
        n.lastError
          ? el(
            "span",
            { class: "err", title: n.lastError.message },
            `${n.lastError.reason}: ${n.lastError.message}`,
          )
          : undefined,
      ),
      ...(n.tasks ?? []).map(taskLine),
      ...(n.children ?? []).map(nodeOf),
    );
  };
  $("tree").replaceChildren(nodeOf(tree));
  bump($("tree"));
}

// A long task of an actor (backfill, replay): records, percent, rate, ETA.
function taskLine(t) {
  const of = t.total !== undefined ? `/${t.total} (${t.percent.toFixed(0)}%)` : "";
  const eta = t.finished ? "done" : t.etaSeconds !== undefined ? `ETA ${Math.ceil(t.etaSeconds)} s` : "";
  return el(
    "div",
    {
      class: "task",
      "data-task": t.task,
      "data-done": t.done,
      "data-total": t.total,
      "data-percent": t.percent,
      "data-eta-seconds": t.etaSeconds,
      "data-finished": t.finished,
    },
    t.total !== undefined ? el("progress", { max: t.total, value: t.done }) : undefined,
    ` ${t.task} ${t.done}${of}, ${fmt(t.ratePerSecond)}/s${eta ? `, ${eta}` : ""}`,
  );
}

function renderLag(lag) {
  const rows = lag.map((l) =>
    el(
      "tr",
      {
        "data-group": l.group,
        "data-topic": l.topic,
        "data-partition": l.partition,
        "data-records": l.records,
        "data-seconds": l.seconds,
      },
      el("td", {}, l.group),
      el("td", {}, l.topic),
      el("td", {}, String(l.partition)),
      el("td", {}, String(l.records)),
      el("td", {}, fmt(l.seconds)),
    )
  );
  $("lag").querySelector("tbody").replaceChildren(...rows);
  bump($("lag"));
}

// ---- prices: one chart per symbol, alerts as markers ----
const charts = new Map();
const alerts = [];
const insightsByAlert = new Map();

function alertMarkers(symbol) {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        for (const a of alerts) {
          if (a.value?.symbol !== symbol) continue;
          const x = u.valToPos(Number(a.value.ts) / 1000, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = a.value.severity === "CRITICAL" ? "#cf222e" : "#9a6700";
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

function chartFor(symbol) {
  let chart = charts.get(symbol);
  if (chart) return chart;
  const box = el("div", { class: "chart", "data-symbol": symbol, "data-points": 0 });
  const title = el("h3", {}, el("span", {}, symbol), el("span", { class: "price" }, ""));
  box.append(title);
  $("charts").append(box);
  const data = [[], []];
  const plot = new uPlot(
    {
      width: 380,
      height: 160,
      legend: { show: false },
      scales: { x: { time: true } },
      series: [{}, { label: symbol, stroke: "#0b5cad", width: 1.5 }],
      axes: [{ size: 30 }, { size: 60 }],
      plugins: [alertMarkers(symbol)],
    },
    data,
    box,
  );
  chart = { el: box, title, data, plot, dirty: false };
  charts.set(symbol, chart);
  return chart;
}

handlers.price = (r) => {
  const { symbol, price, ts } = r.value;
  const chart = chartFor(symbol);
  const [xs, ys] = chart.data;
  const x = Number(ts) / 1000;
  if (xs.length > 0 && x < xs[xs.length - 1]) return; // out of order: keep the line monotonic
  xs.push(x);
  ys.push(price);
  if (xs.length > MAX_POINTS) {
    xs.shift();
    ys.shift();
  }
  chart.dirty = true;
  chart.el.dataset.points = String(xs.length);
  chart.el.dataset.lastPrice = String(price);
  chart.el.dataset.lastTs = String(ts);
  chart.title.lastChild.textContent = price.toFixed(price < 10 ? 4 : 2);
};

setInterval(() => {
  for (const chart of charts.values()) {
    if (!chart.dirty) continue;
    chart.dirty = false;
    chart.plot.setData(chart.data);
    bump($("charts"));
  }
}, 500);

// ---- records: alerts (with provenance and insight), insights, dead letters ----
function prepend(listId, item) {
  const list = $(listId);
  list.prepend(item);
  while (list.children.length > MAX_ITEMS) list.lastChild.remove();
  list.dataset.count = String(Number(list.dataset.count) + 1);
}

const where = (r) => `${r.topic}[${r.partition}]@${r.offset}`;
const when = (ms) => new Date(Number(ms)).toLocaleTimeString();

handlers.alert = (r) => {
  alerts.push(r);
  if (alerts.length > 500) alerts.shift();
  const a = r.value ?? {};
  const item = el(
    "li",
    { class: "clickable", "data-alert-id": a.id, "data-symbol": a.symbol, onclick: () => showAlert(r) },
    el("span", { class: `sev-${a.severity}` }, a.severity ?? "?"),
    ` ${when(a.ts ?? r.timestamp)} ${a.symbol ?? ""} ${a.rule ?? ""}: ${a.message ?? ""}`,
  );
  prepend("alerts", item);
  charts.get(a.symbol)?.plot.redraw();
};

function showAlert(r) {
  const a = r.value ?? {};
  const insight = insightsByAlert.get(a.id);
  const box = $("alert-detail");
  box.hidden = false;
  box.dataset.alertId = a.id;
  box.replaceChildren(
    el("strong", {}, `${a.rule ?? "alert"} on ${a.symbol ?? "?"}`),
    el(
      "div",
      {},
      `from ${a.source ?? "?"} at ${new Date(Number(a.ts ?? r.timestamp)).toISOString()}, stored at ${
        where(r)
      }`,
    ),
    el("div", { class: "muted" }, "Provenance (record headers and fields):"),
    el("pre", {}, JSON.stringify({ headers: r.headers, alert: a }, null, 2)),
    insight
      ? el(
        "div",
        { "data-insight": insight.value?.id },
        el("strong", {}, `Analyst: ${insight.value?.title ?? ""}`),
        el("pre", {}, insight.value?.summary ?? JSON.stringify(insight.value, null, 2)),
      )
      : el("div", { class: "muted" }, "No insight from the analyst for this alert (yet)."),
  );
}

handlers.insight = (r) => {
  const i = r.value ?? {};
  if (i.alertId) insightsByAlert.set(i.alertId, r);
  prepend(
    "insights",
    el(
      "li",
      { "data-insight-id": i.id, "data-alert-id": i.alertId },
      el("strong", {}, i.title ?? "(untitled)"),
      ` ${when(i.ts ?? r.timestamp)} ${i.summary ?? JSON.stringify(i)}`,
    ),
  );
  const shown = $("alert-detail");
  const alert = alerts.find((a) => a.value?.id === i.alertId);
  if (alert && shown.dataset.alertId === i.alertId) showAlert(alert);
};

// Dead letters: the live feed, or the whole topic filtered by agent, stage and error (the deadletters.* tools
// behind /api/deadletters); show one decoded; replay the selected ones (admin).
let dlqFilter = null;

function dlqMatches(d) {
  if (!dlqFilter) return true;
  if (dlqFilter.agent && d.agent !== dlqFilter.agent) return false;
  if (dlqFilter.stage && d.stage !== dlqFilter.stage) return false;
  const text = `${d.errorClass}: ${d.errorMessage}`.toLowerCase();
  return !dlqFilter.error || text.includes(dlqFilter.error.toLowerCase());
}

function deadLetterItem(d) {
  const ref = `${d.partition}@${d.offset}`;
  const item = el(
    "li",
    { class: "clickable", "data-ref": ref, "data-agent": d.agent, "data-stage": d.stage },
    admin
      ? el("input", { type: "checkbox", "data-ref": ref, onclick: (e) => e.stopPropagation() })
      : undefined,
    ` ${when(d.timestamp)} ${d.agent} · ${d.stage} · ${d.errorClass}: ${d.errorMessage}`,
    el(
      "span",
      { class: "muted" },
      d.source ? ` (from ${d.source.topic}[${d.source.partition}]@${d.source.offset})` : "",
    ),
  );
  item.addEventListener("click", () => showDeadLetter(ref));
  return item;
}

async function showDeadLetter(ref) {
  const box = $("dlq-detail");
  box.hidden = false;
  box.dataset.ref = ref;
  box.textContent = `loading ${ref}…`;
  const res = await api(`/api/deadletters/${encodeURIComponent(ref)}`);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) return (box.textContent = `cannot show ${ref}: ${body.error ?? res.status}`);
  const d = body.deadLetter;
  box.replaceChildren(
    el("strong", {}, `${d.location}: ${d.errorClass}`),
    el("div", {}, d.errorMessage),
    el(
      "div",
      { class: "muted" },
      `agent ${d.agent}, stage ${d.stage}${d.truncated ? `, TRUNCATED: ${d.truncated}` : ""}`,
    ),
    el("pre", { "data-value": "" }, `value: ${d.value}`),
    el("pre", {}, `key: ${d.key}\nheaders: ${JSON.stringify(d.headers, null, 2)}`),
  );
}

handlers.deadletter = (r) => {
  const d = r.value ?? {};
  if (!dlqMatches(d)) return;
  prepend("deadletters", deadLetterItem(d));
};

$("dlq-filter").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  dlqFilter = Object.fromEntries([...form].filter(([, v]) => String(v).trim() !== ""));
  const res = await api(`/api/deadletters?${new URLSearchParams({ ...dlqFilter, limit: "100" })}`);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) return ($("dlq-result").textContent = `cannot list: ${body.error ?? res.status}`);
  $("dlq-result").textContent = `${body.matched} of ${body.total} dead letters match` +
    (body.deadLetters.length < body.matched ? `, newest ${body.deadLetters.length} shown` : "");
  const list = $("deadletters");
  list.replaceChildren(...body.deadLetters.reverse().map(deadLetterItem));
  list.dataset.count = String(body.deadLetters.length);
  list.dataset.filtered = "true";
});

$("dlq-replay").addEventListener("click", async () => {
  const refs = [...document.querySelectorAll("#deadletters input[type=checkbox]:checked")].map((c) =>
    c.dataset.ref
  );
  if (refs.length === 0) return ($("dlq-result").textContent = "select dead letters to replay first");
  const res = await api("/api/deadletters/replay", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refs }),
  });
  const body = await res.json().catch(() => ({}));
  $("dlq-result").textContent = res.ok
    ? body.outcomes.map((o) =>
      `${o.location}: ${o.status}${o.to ? ` -> ${o.to}` : o.reason ? ` (${o.reason})` : ""}`
    )
      .join("; ")
    : `replay failed: ${body.error ?? res.status}`;
});

signIn();
