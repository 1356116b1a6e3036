// Browser test of the setup pages, run by setup_test.go:
//   node setup.mjs  (env BASE_URL, SETUP_CODE, KAMAILIO, ARTIFACTS, DATA_DIR)
// The first-run path from the password to a registered account and a
// ringing phone; every select against the config schema; a refused value
// shown inline with the old config kept; backup, factory reset and
// restore; no horizontal scroll at phone width; the status page's weight.
// Each step prints "ok - ..." or throws.
import { chromium } from "playwright-core";
import { existsSync, readFileSync } from "node:fs";

const base = process.env.BASE_URL;
const kamailio = process.env.KAMAILIO;
const out = process.env.ARTIFACTS;
const dataDir = process.env.DATA_DIR;
const password = "setup test pw";

function check(cond, what) {
  if (!cond) throw new Error("FAILED: " + what);
  console.log("ok - " + what);
}

async function waitText(page, selector, re, ms = 15000) {
  await page.waitForFunction(([sel, src]) => {
    const el = document.querySelector(sel);
    return el && new RegExp(src).test(el.textContent);
  }, [selector, re.source], { timeout: ms });
}

async function setPassword(page, code) {
  await page.goto(base + "/");
  await page.waitForURL(/\/setup/);
  await page.fill("#setup-code", code);
  await page.fill("#password", password);
  await page.fill("#confirm", password);
  await page.click("#setup");
  await page.waitForURL(base + "/");
}

async function configXML(page) {
  return page.evaluate(async () => (await fetch("/api/config/backup")).text());
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.on("dialog", (d) => d.accept());

  // 1. First run: password, then the guided path, found from the status page.
  await setPassword(page, process.env.SETUP_CODE);
  check(true, "password set");
  await page.click("#first-run a");
  await page.waitForURL(base + "/start");
  await page.screenshot({ path: `${out}/desktop-start.png`, fullPage: true });
  const acct = '#step-account form[data-element="account"]';
  await page.fill(`${acct} input[name="registrar"]`, "sip:" + kamailio);
  await page.fill(`${acct} input[name="user"]`, "1001");
  await page.fill(`${acct} input[name="password"]`, "secret1");
  await page.selectOption(`${acct} select[name="transport"]`, "udp");
  await page.selectOption(`${acct} select[name="srtp"]`, "optional");
  await page.press(`${acct} input[name="password"]`, "Enter"); // from the keyboard: the form's first button, Save
  await page.waitForURL(/\/start\?msg=.*#step-port$/);
  check(/saved/.test(await page.textContent("#notice")), "account step saved, on to the ports: " + await page.textContent("#notice"));
  await page.click('#step-port form[data-port="1"] button[value="save"]');
  await page.waitForURL(/#step-test$/);
  check(true, "port step saved, on to the test call");
  await page.goto(base + "/");
  await waitText(page, '#accounts tr[data-account="1"]', /registered/, 20000);
  check(true, "account 1 registered at Kamailio");
  await page.goto(base + "/start#step-test");
  await page.focus("#test-call-1");
  await Promise.all([page.waitForURL(/#step-test$/, { timeout: 30000 }), page.keyboard.press("Enter")]);
  const result = await page.textContent("#notice, #page-error");
  check(/rings/.test(result), "test call result shown: " + result);
  await page.screenshot({ path: `${out}/desktop-test-call.png`, fullPage: true });
  const ringing = await page.evaluate(async () => {
    const r = await fetch("/api/sim/ports/1", { cache: "no-store" });
    return (await r.json()).ringing;
  });
  check(ringing, "the phone on port 1 rings");

  // 2. Every select offers exactly the schema's values.
  const schema = await page.evaluate(async () => (await fetch("/api/config/schema")).json());
  const byPath = Object.fromEntries(schema.map((f) => [f.element + "/" + f.name, f]));
  let selects = 0;
  for (const p of ["/accounts", "/ports", "/settings"]) {
    await page.goto(base + p);
    const found = await page.$$eval("form[data-element] select", (els) => els.map((s) => ({
      key: s.closest("form").dataset.element + "/" + s.name,
      values: [...s.options].map((o) => o.value),
    })));
    for (const s of found) {
      const f = byPath[s.key];
      if (!f) throw new Error("FAILED: select " + s.key + " is not a schema setting");
      const want = (f.optional ? [""] : []).concat(f.values);
      if (JSON.stringify(s.values) !== JSON.stringify(want)) {
        throw new Error("FAILED: " + s.key + " offers " + JSON.stringify(s.values) + ", schema " + JSON.stringify(want));
      }
      selects++;
    }
  }
  const choices = schema.filter((f) => f.kind === "enum" || f.kind === "bool").length;
  check(selects >= choices, `${selects} selects match the schema (${choices} choices in it)`);

  // 3. A wrong value: inline error, old config kept.
  const before = await configXML(page);
  await page.goto(base + "/accounts");
  const form = 'form[data-account="1"]';
  await page.fill(`${form} input[name="expires"]`, "5");
  await page.click(`${form} button[value="save"]`);
  await page.waitForURL(/\/accounts\?/);
  const inline = await page.textContent(`${form} .field-error[data-for="expires"]`);
  check(inline === "5 is out of range 60..86400 seconds", "inline error next to expires: " + inline);
  check(await page.inputValue(`${form} input[name="expires"]`) === "5", "the form keeps the refused value");
  check(await configXML(page) === before, "the old configuration stays");
  await page.screenshot({ path: `${out}/desktop-inline-error.png`, fullPage: true });

  // 4. Backup, factory reset, restore.
  await page.goto(base + "/maintenance");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#backup")]);
  const backupPath = `${out}/backup.xml`;
  await download.saveAs(backupPath);
  check(readFileSync(backupPath, "utf8") === before, "the downloaded backup is the configuration");
  // The setup code is gone once a password is set; a factory reset makes a new one.
  check(!existsSync(`${dataDir}/setup-code`), "no setup code while a password is set");
  await page.check("#reset-confirm");
  await page.fill("#reset-text", "RESET");
  await page.click("#factory-reset");
  await page.waitForSelector("#restarting");
  check(true, "factory reset confirmed, gateway restarting");
  const deadline = Date.now() + 30000;
  let code = "";
  for (;;) {
    if (existsSync(`${dataDir}/setup-code`)) code = readFileSync(`${dataDir}/setup-code`, "utf8").trim();
    if (code) {
      try { if ((await fetch(base + "/healthz")).ok) break; } catch (e) { /* restarting */ }
    }
    if (Date.now() > deadline) throw new Error("FAILED: no new setup code after the factory reset");
    await new Promise((r) => setTimeout(r, 300));
  }
  await setPassword(page, code);
  check((await configXML(page)) !== before, "after the factory reset the configuration is the default");
  await page.goto(base + "/maintenance");
  await page.setInputFiles("#restore-file", backupPath);
  await page.click("#restore");
  await page.waitForURL(/\/maintenance\?/);
  check(/restored/.test(await page.textContent("#notice")), "restored: " + await page.textContent("#notice"));
  check(await configXML(page) === before, "backup → factory reset → restore gives the same configuration");
  await page.goto(base + "/");
  await waitText(page, '#accounts tr[data-account="1"]', /registered/, 20000);
  check(true, "the restored account registers again");

  // 5. Page weight of the status page, as transferred.
  await page.goto(base + "/");
  await page.waitForLoadState("load");
  const weight = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    let n = nav.transferSize;
    for (const r of performance.getEntriesByType("resource")) {
      if (!r.name.includes("/api/status/stream")) n += r.transferSize;
    }
    return n;
  });
  console.log("# status page weight: " + weight + " bytes transferred");
  check(weight > 0 && weight <= 60 * 1024, `status page ${weight} bytes ≤ 60 KB`);
  await page.screenshot({ path: `${out}/desktop-status.png`, fullPage: true });
  for (const p of ["accounts", "ports", "settings", "maintenance"]) {
    await page.goto(base + "/" + p);
    await page.screenshot({ path: `${out}/desktop-${p}.png`, fullPage: true });
  }

  // 6. Phone width: no horizontal scroll on any page.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    storageState: await ctx.storageState() });
  const pp = await phone.newPage();
  for (const p of ["", "start", "accounts", "ports", "settings", "provisioning", "maintenance"]) {
    await pp.goto(base + "/" + p);
    const w = await pp.evaluate(() => ({ s: document.documentElement.scrollWidth, c: document.documentElement.clientWidth }));
    await pp.screenshot({ path: `${out}/phone-${p || "status"}.png`, fullPage: true });
    check(w.s <= w.c, `/${p} at 390 px: scrollWidth ${w.s} ≤ clientWidth ${w.c}`);
  }
  await phone.close();
} finally {
  await browser.close();
}
