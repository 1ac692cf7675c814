// The conflict desk in a real browser, for t/7100-desk-browser.t:
//	node desk-browser.js URL OUT
// with the keys in the environment (DESK_KEY_A, DESK_KEY_B: never on a
// command line).  Drives Debian's chromium through puppeteer-core and
// writes what it saw to OUT/seen.json and screenshots to OUT/*.png; the
// test judges them.  Exits non-zero only when it could not drive the
// page at all (a step timed out), saying which step.
"use strict";
const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const [url, out] = process.argv.slice(2);
const keyA = process.env.DESK_KEY_A, keyB = process.env.DESK_KEY_B;
const T = Number(process.env.DESK_TIMEOUT_MS || 30000);
const seen = { requests: [], console: [], steps: [] };
let step = "start";

async function shot(page, name) {
	await page.screenshot({ path: path.join(out, name + ".png"),
	    fullPage: true });
}

// The texts of the cells of the row of external_id ext.
async function rowCells(page, ext) {
	return page.$$eval(`#rows li[data-external-id="${ext}"] .diff tbody tr`,
	    (trs) => trs.map((tr) => ({ field: tr.dataset.field,
	    changed: tr.classList.contains("changed"),
	    old: tr.querySelector(".old").textContent,
	    neu: tr.querySelector(".new").textContent })));
}

async function listed(page) {
	return page.$$eval("#rows li[data-external-id]",
	    (lis) => lis.map((li) => li.dataset.externalId));
}

async function signIn(page, key) {
	await page.waitForSelector("#key", { visible: true, timeout: T });
	await page.type("#key", key);
	await page.keyboard.press("Enter");	// the keyboard signs in
}

async function main() {
	const browser = await puppeteer.launch({
		executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		headless: true,
		args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		    "--no-first-run", "--no-default-browser-check"],
	});
	try {
		const page = await browser.newPage();
		page.setDefaultTimeout(T);
		await page.setViewport({ width: 1100, height: 900 });
		page.on("request", (r) => seen.requests.push(r.url()));
		page.on("console", (m) => seen.console.push(m.type() + ": " +
		    m.text()));
		page.on("pageerror", (e) => seen.console.push("pageerror: " +
		    e.message));

		step = "open the desk";
		await page.goto(url + "/", { waitUntil: "load" });
		step = "a wrong key";
		await signIn(page, keyA.replace(/.$/, (c) => c === "x" ? "y" : "x"));
		await page.waitForSelector("#signin-error:not([hidden])");
		seen.wrong_key = await page.$eval("#signin-error",
		    (e) => e.textContent);
		seen.wrong_key_desk_hidden = await page.$eval("#desk",
		    (e) => e.hidden);
		seen.wrong_key_stored = await page.evaluate(() =>
		    sessionStorage.length);
		await shot(page, "1-wrong-key");

		step = "sign in";
		await signIn(page, keyA);
		await page.waitForSelector("#rows li[data-external-id]",
		    { visible: true });
		seen.url_after_sign_in = page.url();
		seen.stored = await page.evaluate(() =>
		    Object.keys(sessionStorage).map((k) => [k,
		    sessionStorage.getItem(k).length]));
		seen.local_storage = await page.evaluate(() => localStorage.length);
		seen.who = await page.$eval("#who", (e) => e.textContent);
		seen.listed = await listed(page);
		seen.a1 = await rowCells(page, "a1");
		seen.targets = await page.$$eval("#targets tbody tr", (trs) =>
		    trs.map((tr) => [...tr.children].map((c) =>
		    c.textContent.trim())));
		await page.waitForSelector("#chart svg rect[data-run]");
		seen.chart_bars = await page.$$eval("#chart svg rect[data-run]",
		    (r) => r.length);
		seen.run_rows = await page.$$eval("#run-table tbody tr",
		    (r) => r.length);
		seen.page_text_a = await page.evaluate(() =>
		    document.body.innerText);
		await shot(page, "2-flagged");

		step = "apply the source to a1";
		await page.click('#rows li[data-external-id="a1"] ' +
		    'button[data-action="overwrite_manual"]');
		await page.waitForSelector("#confirm[open]", { visible: true });
		seen.confirm_text = await page.$eval("#confirm-text",
		    (e) => e.textContent);
		await shot(page, "3-confirm");
		await page.click("#confirm-yes");
		await page.waitForFunction(() => !document.querySelector(
		    '#rows li[data-external-id="a1"]'));
		await page.waitForFunction(() =>
		    document.getElementById("status").textContent !== "");
		seen.after_apply = await listed(page);
		seen.status_apply = await page.$eval("#status",
		    (e) => e.textContent);
		await shot(page, "4-applied");

		step = "keep the edit of a3, by keyboard";
		await page.focus('#rows li[data-external-id="a3"] ' +
		    'button[data-action="accept_manual"]');
		await page.keyboard.press("Enter");
		await page.waitForSelector("#confirm[open]", { visible: true });
		seen.confirm_focus = await page.evaluate(() =>
		    document.activeElement.id);
		await page.keyboard.press("Tab");	// Cancel -> Confirm
		await page.keyboard.press("Enter");
		await page.waitForFunction(() => !document.querySelector(
		    '#rows li[data-external-id="a3"]'));
		await page.waitForFunction(() =>
		    /Kept the edit/.test(document.getElementById("status")
		    .textContent));
		seen.after_keep = await listed(page);
		seen.status_keep = await page.$eval("#status",
		    (e) => e.textContent);

		step = "a phone";
		await page.setViewport({ width: 390, height: 844,
		    isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
		await new Promise((r) => setTimeout(r, 200));
		seen.phone_overflow = await page.evaluate(() =>
		    document.documentElement.scrollWidth - window.innerWidth);
		await shot(page, "5-phone");
		await page.setViewport({ width: 1100, height: 900 });

		step = "sign out, sign in as the other tenant";
		await page.click("#signout");
		await page.waitForSelector("#signin:not([hidden])");
		seen.signed_out_stored = await page.evaluate(() =>
		    sessionStorage.length);
		seen.signed_out_text = await page.$eval("#signin-error",
		    (e) => e.textContent);
		await signIn(page, keyB);
		await page.waitForSelector("#rows li[data-external-id]",
		    { visible: true });
		seen.listed_b = await listed(page);
		seen.page_text_b = await page.evaluate(() =>
		    document.body.innerText);
		await shot(page, "6-other-tenant");
		step = "done";
	} finally {
		await browser.close();
		seen.steps.push(step);
		fs.writeFileSync(path.join(out, "seen.json"),
		    JSON.stringify(seen, null, 1) + "\n");
	}
}

main().catch((e) => {
	console.error("desk-browser: " + step + ": " + e.message);
	process.exit(1);
});
