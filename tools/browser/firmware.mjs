// Browser test of the firmware page, run by browser_test.go's
// TestBrowserFirmware:  node firmware.mjs  (env BASE_URL, SETUP_CODE, IMAGE,
// BAD_IMAGE, NEW_VERSION, OLD_IMAGE, OLD_VERSION, ARTIFACTS). A tampered
// image is refused with nothing changed; a signed one uploads with visible
// progress, the gateway restarts into it, and after logging in again the
// new version runs from slot a. An older image is refused as a downgrade
// with the reason and a confirmation button; confirmed, it installs and
// runs from slot b.
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const out = process.env.ARTIFACTS;
const password = "browser test pw";

function check(cond, what) {
  if (!cond) throw new Error("FAILED: " + what);
  console.log("ok - " + what);
}

async function shot(page, name) {
  await page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);
  await page.goto(base + "/");
  await page.fill("#setup-code", process.env.SETUP_CODE);
  await page.fill("#password", password);
  await page.fill("#confirm", password);
  await page.click("#setup");
  await page.waitForURL(base + "/");
  const oldVersion = (await page.textContent("#version")).trim();

  await page.goto(base + "/firmware");
  check((await page.textContent("#fw-slot")).trim() === "factory", "firmware page: running the factory firmware");
  await shot(page, "fw-01-page");

  // A tampered image: refused, nothing changes.
  await page.setInputFiles("#fw-file", process.env.BAD_IMAGE);
  await page.click("#fw-upload");
  await page.waitForSelector("#error:not([hidden])");
  const err = await page.textContent("#error");
  check(/nothing was changed/.test(err) && /payload/.test(err), "tampered image refused: " + err.trim());
  await shot(page, "fw-02-refused");

  // The signed image: progress shows, then the gateway restarts into it.
  const seen = [];
  page.on("response", async (r) => {
    if (r.url().endsWith("/api/firmware") && r.request().method() === "GET" && r.ok()) {
      try { const st = await r.json(); if (st.progress) seen.push(st.progress); } catch (e) { /* page left */ }
    }
  });
  await page.setInputFiles("#fw-file", process.env.IMAGE);
  await page.click("#fw-upload");
  await page.waitForFunction(() => /installed|restarting|writing|verifying/.test(document.getElementById("fw-progress").textContent));
  check(true, "progress shown: " + (await page.textContent("#fw-progress")).trim());
  await shot(page, "fw-03-progress");
  await page.waitForURL(/\/login/, { timeout: 60000 });
  console.log("# progress polled while it ran: " + (seen.join(" | ") || "(the upload finished before the first poll)"));
  check((await page.textContent("#version")).trim() === process.env.NEW_VERSION,
    "after the restart the login page shows version " + process.env.NEW_VERSION + " (was " + oldVersion + ")");
  await page.fill("#password", password);
  await page.click("#login");
  await page.waitForURL(base + "/");
  await page.goto(base + "/firmware");
  check((await page.textContent("#fw-version")).trim() === process.env.NEW_VERSION, "firmware page: new version running");
  check((await page.textContent("#fw-slot")).trim() === "a", "firmware page: from slot a");
  // The trial ends once the loop ticks and the web UI answers.
  for (let i = 0; i < 40; i++) {
    const st = await (await page.request.get(base + "/api/firmware")).json();
    if (!st.trial) break;
    await page.waitForTimeout(500);
  }
  const st = await (await page.request.get(base + "/api/firmware")).json();
  check(!st.trial, "the new version was confirmed healthy");
  await page.reload();
  await shot(page, "fw-04-upgraded");

  // An older image: refused with the reason, nothing written, until confirmed.
  await page.setInputFiles("#fw-file", process.env.OLD_IMAGE);
  await page.click("#fw-upload");
  await page.waitForSelector("#fw-confirm:not([hidden])");
  const reason = (await page.textContent("#fw-confirm-reason")).trim();
  check(/older than the running/.test(reason) && /downgrade refused/.test(reason), "older image refused: " + reason);
  const slots = (await (await page.request.get(base + "/api/firmware")).json()).slots;
  check(slots.length === 1 && slots[0].slot === "a", "nothing was written for the refused image");
  await shot(page, "fw-05-downgrade-refused");
  await page.click("#fw-downgrade");
  await page.waitForURL(/\/login/, { timeout: 60000 });
  check((await page.textContent("#version")).trim() === process.env.OLD_VERSION,
    "confirmed: after the restart the login page shows version " + process.env.OLD_VERSION);
  await page.fill("#password", password);
  await page.click("#login");
  await page.waitForURL(base + "/");
  await page.goto(base + "/firmware");
  check((await page.textContent("#fw-slot")).trim() === "b", "firmware page: the older version runs from slot b");
  await shot(page, "fw-06-downgraded");
} finally {
  await browser.close();
}
