/*
 * The conflict desk: decide on manual edits of a tenant's targets.
 * Everything goes through the public REST API of this server with the
 * tenant's key in X-API-Key; the key lives in sessionStorage (this tab
 * only), never in a URL.  Text from the server is put in the page with
 * textContent and attributes only, never parsed as HTML.
 */
"use strict";

const KEY = "sm-desk-key";
const $ = (id) => document.getElementById(id);
let state = { overview: null, target: null, rows: [] };

/* el("td", {class: "n"}, "text", child...): an element, safely. */
function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {}))
		if (v !== null && v !== undefined && v !== false)
			e.setAttribute(k, v === true ? "" : String(v));
	for (const k of kids)
		e.append(k instanceof Node ? k : document.createTextNode(
		    k === null || k === undefined ? "" : String(k)));
	return e;
}

class ApiError extends Error {
	constructor(status, msg) { super(msg); this.status = status; }
}

async function api(method, path, body) {
	const key = sessionStorage.getItem(KEY);
	const opt = { method, headers: { "X-API-Key": key || "" },
	    cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
	if (body !== undefined) {
		opt.headers["Content-Type"] = "application/json";
		opt.body = JSON.stringify(body);
	}
	const res = await fetch(path, opt);
	let data = null;
	try { data = await res.json(); } catch (e) { data = null; }
	if (!res.ok) {
		const msg = data && data.error ? data.error : "HTTP " + res.status;
		if (res.status === 401 && path !== "/overview")
			signOut("Your key was refused: " + msg + ".");
		throw new ApiError(res.status, msg);
	}
	return { data, link: res.headers.get("Link") };
}

function say(msg, bad) {
	const s = $("status");
	s.textContent = msg;
	s.classList.toggle("bad", !!bad);
	s.setAttribute("role", bad ? "alert" : "status");
}

/* Sign in and out */

function showSignIn(msg) {
	$("desk").hidden = true;
	$("signout").hidden = true;
	$("who").hidden = true;
	$("signin").hidden = false;
	const e = $("signin-error");
	e.hidden = !msg;
	e.textContent = msg || "";
	$("key").value = "";
	$("key").focus();
}

function signOut(msg) {
	sessionStorage.removeItem(KEY);
	state = { overview: null, target: null, rows: [] };
	for (const id of ["rows", "chart"])
		$(id).replaceChildren();
	for (const t of ["targets", "sources", "run-table"])
		$(t).tBodies[0].replaceChildren();
	say("");
	showSignIn(msg);
}

async function signIn(key) {
	sessionStorage.setItem(KEY, key);
	try {
		await loadOverview();
	} catch (e) {
		sessionStorage.removeItem(KEY);
		showSignIn(e.status === 401 ?
		    "That key was refused: " + e.message + "." :
		    "Cannot reach the server: " + e.message + ".");
		return;
	}
	$("signin").hidden = true;
	$("desk").hidden = false;
	$("signout").hidden = false;
	$("who").hidden = false;
	$("who").textContent = "Tenant " + state.overview.tenant;
	await Promise.all([loadRows(), loadRuns()]);
	$("main").focus();
}

/* Overview */

function runCell(run) {
	if (!run)
		return el("td", {}, "none");
	return el("td", {}, el("span", { class: run.status === "success" ?
	    "ok" : "failed" }, run.status), " ", run.kind, " #" + run.run,
	    el("br"), el("time", { datetime: run.finished_at || "" },
	    (run.finished_at || run.started_at || "").replace("T", " ")));
}

async function loadOverview() {
	const { data } = await api("GET", "/overview");
	state.overview = data;
	const tb = $("targets").tBodies[0];
	tb.replaceChildren();
	for (const t of data.targets) {
		const b = el("button", { type: "button" }, "Review");
		b.addEventListener("click", () => pickTarget(t.id, true));
		tb.append(el("tr", { "data-target": t.id },
		    el("th", { scope: "row" }, t.name), el("td", {}, t.type),
		    el("td", { class: "n" }, t.properties),
		    el("td", { class: "n" }, t.manual_changes),
		    el("td", { class: "n" }, t.pending),
		    el("td", { class: "n" }, t.held),
		    el("td", { class: "n" + (t.failed ? " failed" : "") },
		    t.failed), runCell(t.last_run), el("td", {}, b)));
	}
	const sb = $("sources").tBodies[0];
	sb.replaceChildren();
	for (const s of data.sources)
		sb.append(el("tr", {}, el("th", { scope: "row" }, s.name),
		    el("td", {}, s.type), el("td", { class: "n" }, s.properties),
		    runCell(s.last_run)));
	const pick = $("target-pick");
	const was = state.target;
	pick.replaceChildren(...data.targets.map((t) => el("option",
	    { value: t.id }, t.name + " (" + t.manual_changes + " flagged)")));
	const keep = data.targets.find((t) => t.id === was) ||
	    data.targets.find((t) => t.manual_changes > 0) || data.targets[0];
	state.target = keep ? keep.id : null;
	if (keep)
		pick.value = String(keep.id);
}

/* Flagged rows */

function show(v) {
	if (v === undefined)
		return "(absent)";
	return typeof v === "string" ? v : JSON.stringify(v);
}

/* JSON Pointer /a/b~1c of a diff change, as the names it walks. */
function pointer(p) {
	return p.split("/").slice(1).map((s) =>
	    s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/*
 * The rows of the table of one flagged row: every top-level field of
 * the edited target version, and the changes that would turn it into
 * the source's version (the diff of GET /diff), side by side.
 */
function diffTable(row, diff) {
	const changes = new Map();
	for (const c of (diff && diff.changes) || []) {
		const p = pointer(c.path);
		changes.set(p.join("."), c);
	}
	const fields = new Set(Object.keys(row.data || {}));
	for (const k of changes.keys())
		fields.add(k);
	const tbody = el("tbody");
	for (const f of [...fields].sort()) {
		const c = changes.get(f);
		let old = (row.data || {})[f], neu = old;
		if (c) {
			old = c.op === "add" ? undefined :
			    "from" in c ? c.from : old;
			neu = c.op === "remove" ? undefined : c.value;
		} else if (f.includes("."))
			continue;
		tbody.append(el("tr", { class: c ? "changed" : null,
		    "data-field": f }, el("th", { scope: "row" }, f,
		    c ? el("span", { class: "sr" }, " (changed)") : ""),
		    el("td", { class: "old" }, show(old)),
		    el("td", { class: "new" }, show(neu))));
	}
	return el("table", { class: "diff" }, el("thead", {}, el("tr", {},
	    el("th", { scope: "col" }, "Field"),
	    el("th", { scope: "col" }, "On the target (edited)"),
	    el("th", { scope: "col" }, "From the source"))), tbody);
}

function rowItem(row, diff) {
	const id = "row-" + row.id;
	const box = el("input", { type: "checkbox", id: id + "-sel",
	    "data-pid": row.id });
	box.addEventListener("change", updateSelection);
	const keep = el("button", { type: "button", "data-action":
	    "accept_manual" }, "Keep the edit");
	const apply = el("button", { type: "button", "data-action":
	    "overwrite_manual", class: "primary" }, "Apply the source");
	for (const b of [keep, apply])
		b.addEventListener("click", () => resolve([row],
		    b.dataset.action));
	return el("li", { id, "data-pid": row.id, "data-external-id":
	    row.external_id, "aria-labelledby": id + "-h" },
	    el("div", { class: "head" }, box,
	    el("h3", { id: id + "-h" }, el("label", { for: id + "-sel" },
	    row.external_id)), el("span", {}, "from " + (row.source || "?")),
	    keep, apply),
	    el("p", { class: "warn" }, row.warning || "edited on the target"),
	    diffTable(row, diff));
}

async function loadRows() {
	const list = $("rows");
	list.replaceChildren();
	state.rows = [];
	updateSelection();
	const tid = state.target;
	if (tid === null) {
		$("flagged-empty").hidden = false;
		return;
	}
	const { data: rows, link } = await api("GET", "/targets/" + tid +
	    "/properties?manual=true&limit=200");
	/* The differences, from each source that feeds a flagged row. */
	const byName = new Map(state.overview.sources.map((s) => [s.name, s]));
	const diffs = new Map();
	for (const name of new Set(rows.map((r) => r.source))) {
		const s = byName.get(name);
		if (!s)
			continue;
		const { data } = await api("GET", "/diff/" + s.id + "/" + tid);
		for (const d of data)
			diffs.set(name + "\n" + d.external_id, d);
	}
	if (tid !== state.target)
		return;		/* another target was picked meanwhile */
	state.rows = rows;
	for (const r of rows)
		list.append(rowItem(r, diffs.get(r.source + "\n" +
		    r.external_id)));
	$("flagged-empty").hidden = rows.length > 0;
	if (link)
		list.append(el("li", {}, "More flagged rows wait: decide on " +
		    "these first, then they are shown."));
}

function selected() {
	const pids = [...document.querySelectorAll("#rows input:checked")]
	    .map((b) => Number(b.dataset.pid));
	return state.rows.filter((r) => pids.includes(r.id));
}

function updateSelection() {
	const n = document.querySelectorAll("#rows input:checked").length;
	$("keep-selected").disabled = n === 0;
	$("apply-selected").disabled = n === 0;
	$("keep-selected").textContent = "Keep the edit (" + n + " selected)";
	$("apply-selected").textContent = "Apply the source (" + n +
	    " selected)";
}

function confirmDialog(text) {
	const d = $("confirm");
	$("confirm-text").textContent = text;
	return new Promise((done) => {
		d.addEventListener("close", () => done(d.returnValue === "ok"),
		    { once: true });
		d.returnValue = "";
		d.showModal();
		$("confirm-no").focus();
	});
}

async function resolve(rows, action) {
	if (rows.length === 0)
		return;
	const what = action === "accept_manual" ? "Keep the edit of" :
	    "Apply the source to";
	const names = rows.map((r) => r.external_id).join(", ");
	if (!await confirmDialog(what + " " + names + "?" +
	    (action === "overwrite_manual" ? " The edited version is " +
	    "kept as a snapshot first." : "")))
		return;
	const tid = state.target;
	const path = rows.length === 1 ? "/targets/" + tid + "/properties/" +
	    rows[0].id + "/resolve" : "/targets/" + tid + "/resolve";
	const body = rows.length === 1 ? { action } :
	    { action, properties: rows.map((r) => r.id) };
	let res;
	try {
		res = (await api("POST", path, body)).data;
	} catch (e) {
		say("Not done: " + e.message, true);
		return;
	}
	const next = document.getElementById("row-" + rows[0].id)
	    ?.nextElementSibling;
	for (const p of res.properties)
		document.getElementById("row-" + p.id)?.remove();
	state.rows = state.rows.filter((r) =>
	    !res.properties.some((p) => p.id === r.id));
	updateSelection();
	$("flagged-empty").hidden = state.rows.length > 0;
	const runs = res.runs.map((r) => "run " + r.run + ": " +
	    r.stats.updated + " updated, " + (r.stats.accepted || 0) +
	    " accepted").join("; ");
	say((action === "accept_manual" ? "Kept the edit of " :
	    "Applied the source to ") + names + " (" + runs + ").");
	const focus = next && next.isConnected ? next.querySelector("button") :
	    $("flagged-h");
	if (focus) {
		if (!focus.hasAttribute("tabindex") && focus.tagName === "H2")
			focus.setAttribute("tabindex", "-1");
		focus.focus();
	}
	await Promise.all([loadOverview(), loadRuns()]).catch((e) =>
	    say("Done, but the overview did not reload: " + e.message, true));
}

async function pickTarget(id, focus) {
	state.target = id;
	$("target-pick").value = String(id);
	try {
		await loadRows();
	} catch (e) {
		say("Cannot load the flagged rows: " + e.message, true);
	}
	if (focus)
		$("target-pick").focus();
}

/* Runs: a table and a chart */

const SERIES = [["created", "#2f7d46"], ["updated", "#0b5cad"],
    ["deleted", "#8a5a00"], ["warnings", "#a4161a"]];
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...kids) {
	const e = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs || {}))
		e.setAttribute(k, String(v));
	for (const k of kids)
		e.append(k instanceof Node ? k : document.createTextNode(
		    String(k)));
	return e;
}

function chart(runs) {
	const W = 640, H = 200, L = 36, B = 24, T = 24;
	const max = Math.max(1, ...runs.flatMap((r) =>
	    SERIES.map(([k]) => (r.stats || {})[k] || 0)));
	const slot = (W - L) / Math.max(runs.length, 1);
	const bw = Math.max(1, slot / (SERIES.length + 1));
	const g = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
	    "aria-label": "Created, updated, deleted and warnings per run, " +
	    "for the last " + runs.length + " runs; the largest value is " +
	    max });
	g.append(svg("line", { x1: L, y1: H - B, x2: W, y2: H - B,
	    stroke: "#5b6470" }));
	g.append(svg("text", { x: L - 4, y: T + 4, "text-anchor": "end",
	    "font-size": 11 }, max));
	g.append(svg("text", { x: L - 4, y: H - B, "text-anchor": "end",
	    "font-size": 11 }, 0));
	runs.forEach((r, i) => {
		SERIES.forEach(([k, colour], j) => {
			const v = (r.stats || {})[k] || 0;
			const h = (H - B - T) * v / max;
			g.append(svg("rect", { x: L + i * slot + (j + .5) * bw,
			    y: H - B - h, width: bw, height: Math.max(h, v ? 1 : 0),
			    fill: colour, "data-run": r.run, "data-series": k },
			    svg("title", {}, "run " + r.run + " (" + r.kind +
			    "): " + v + " " + k)));
		});
		if (runs.length <= 20 || i % Math.ceil(runs.length / 20) === 0)
			g.append(svg("text", { x: L + (i + .5) * slot, y: H - 8,
			    "text-anchor": "middle", "font-size": 10 }, r.run));
	});
	SERIES.forEach(([k, colour], j) => {
		g.append(svg("rect", { x: L + j * 110, y: 4, width: 10,
		    height: 10, fill: colour }));
		g.append(svg("text", { x: L + j * 110 + 14, y: 13,
		    "font-size": 11 }, k));
	});
	return g;
}

async function loadRuns() {
	const { data } = await api("GET", "/runs");
	const last = data.slice(-30);
	$("chart").replaceChildren(chart(last));
	const tb = $("run-table").tBodies[0];
	tb.replaceChildren();
	for (const r of last.slice().reverse()) {
		const s = r.stats || {};
		tb.append(el("tr", { "data-run": r.run },
		    el("td", { class: "n" }, r.run), el("td", {}, r.kind),
		    el("td", {}, r.source || ""), el("td", {}, r.target || ""),
		    el("td", {}, (r.finished_at || "").replace("T", " ")),
		    el("td", { class: r.status === "success" ? "ok" : "failed",
		    title: r.error || "" }, r.status),
		    el("td", { class: "n" }, s.created || 0),
		    el("td", { class: "n" }, s.updated || 0),
		    el("td", { class: "n" }, s.deleted || 0),
		    el("td", { class: "n" }, s.warnings || 0)));
	}
}

/* Wiring */

document.addEventListener("DOMContentLoaded", () => {
	$("signin-form").addEventListener("submit", (ev) => {
		ev.preventDefault();
		const k = $("key").value.trim();
		$("key").value = "";
		if (k)
			signIn(k);
	});
	$("signout").addEventListener("click", () =>
	    signOut("Signed out. The key is forgotten by this tab."));
	$("target-pick").addEventListener("change", (ev) =>
	    pickTarget(Number(ev.target.value), false));
	$("select-all").addEventListener("click", () => {
		const boxes = [...document.querySelectorAll("#rows input")];
		const all = boxes.every((b) => b.checked);
		for (const b of boxes)
			b.checked = !all;
		updateSelection();
	});
	$("keep-selected").addEventListener("click", () =>
	    resolve(selected(), "accept_manual"));
	$("apply-selected").addEventListener("click", () =>
	    resolve(selected(), "overwrite_manual"));
	const key = sessionStorage.getItem(KEY);
	if (key)
		signIn(key);
	else
		showSignIn("");
});
