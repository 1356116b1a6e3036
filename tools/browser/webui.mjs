// Browser test of the Loopstart web UI, run by browser_test.go:
//   node webui.mjs  (env BASE_URL, SETUP_CODE, KAMAILIO, ARTIFACTS)
// playwright-core drives Debian's /usr/bin/chromium headless; no browser
// is ever downloaded. Each step prints "ok - ..." or throws.
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const kamailio = process.env.KAMAILIO; // 127.0.0.1:PORT
const out = process.env.ARTIFACTS;
const password = "browser test pw";

function check(cond, what) {
  if (!cond) throw new Error("FAILED: " + what);
  console.log("ok - " + what);
}

async function shot(page, name) {
  await page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
}

async function waitText(page, selector, re, ms = 15000) {
  await page.waitForFunction(([sel, src]) => {
    const el = document.querySelector(sel);
    return el && new RegExp(src).test(el.textContent);
  }, [selector, re.source], { timeout: ms });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);

  // 1. First run: any page leads to the password setup.
  await page.goto(base + "/");
  check(new URL(page.url()).pathname === "/setup", "first visit goes to /setup (" + page.url() + ")");
  await shot(page, "01-setup");
  await page.fill("#password", password);
  await page.fill("#confirm", password);
  const [nocode] = await Promise.all([page.waitForNavigation(), page.click("#setup")]);
  check(nocode.status() === 403, "setup without the setup code refused with 403");
  check(/setup code/.test(await page.textContent("#page-error")), "the refusal names the setup code");
  await page.fill("#setup-code", process.env.SETUP_CODE.toLowerCase());
  await page.fill("#password", password);
  await page.fill("#confirm", password);
  await page.click("#setup");
  await page.waitForURL(base + "/");
  check(await page.isVisible('tr[data-port="1"]'), "password set, status page shown");
  await shot(page, "02-status");

  // 2. Log out; a wrong password is refused; the right one logs in.
  await page.click("#logout");
  await page.waitForURL(/\/login/);
  await page.fill("#password", "not the password");
  const [wrong] = await Promise.all([page.waitForNavigation(), page.click("#login")]);
  check(wrong.status() === 401, "wrong password refused with 401");
  check(/wrong password/.test(await page.textContent("#page-error")), "wrong password says so");
  await shot(page, "03-wrong-password");
  await page.fill("#password", password);
  await page.click("#login");
  await page.waitForURL(base + "/");
  check(await page.isVisible('tr[data-port="2"]'), "logged in");

  // 3. A state-changing request without the CSRF token is refused, with it accepted.
  const noCSRF = await page.evaluate(async () => {
    const r = await fetch("/api/config", { method: "PUT", headers: { "Content-Type": "application/json" }, body: "{}" });
    return r.status;
  });
  check(noCSRF === 403, "PUT /api/config without the CSRF token refused (" + noCSRF + ")");
  const withCSRF = await page.evaluate(async () => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const r = await fetch("/api/config", { headers: { "X-CSRF-Token": token } });
    return r.status;
  });
  check(withCSRF === 200, "GET /api/config with the session works");

  // 4. A call between the two virtual phones, with the browser's buttons.
  const row = (n) => `tr[data-port="${n}"]`;
  await page.click(`${row(1)} button[data-state="off"]`);
  await waitText(page, `${row(1)} .state`, /dialtone/);
  for (const d of "102") {
    await page.click(`${row(1)} button[data-digit="${d}"]`);
    await page.waitForTimeout(250);
  }
  await waitText(page, `${row(2)} .state`, /ringing/);
  await shot(page, "04-ringing");
  check(true, "phone 2 rings after phone 1 dialed 102 on the keypad");
  await waitText(page, `${row(2)} .callerid`, /caller 10\d/);
  check(true, "phone 2's caller-ID display shows phone 1's number on the status page");
  await page.click(`${row(2)} button[data-state="off"]`);
  await waitText(page, `${row(1)} .state`, /talking/);
  await waitText(page, `${row(2)} .state`, /talking/);
  await shot(page, "05-talking");
  check(true, "both ports talking");
  await page.click(`${row(1)} button[data-state="on"]`);
  await page.click(`${row(2)} button[data-state="on"]`);
  await waitText(page, `${row(1)} .state`, /idle/);
  await waitText(page, `${row(2)} .state`, /idle/, 20000);
  check(true, "call ended, both ports idle");

  // 5. Change account 1 to register at Kamailio and see it register.
  if (kamailio) {
    await page.goto(base + "/accounts");
    const form = 'form[data-account="1"]';
    await page.fill(`${form} input[name="registrar"]`, "sip:" + kamailio);
    await page.fill(`${form} input[name="user"]`, "1001");
    await page.fill(`${form} input[name="password"]`, "secret1");
    await page.click(`${form} button[value="save"]`);
    await page.waitForURL(/\/accounts\?/);
    check(/saved/.test(await page.textContent("#notice")), "account saved: " + await page.textContent("#notice"));
    await page.goto(base + "/");
    await waitText(page, '#accounts tr[data-account="1"]', /registered/, 20000);
    await shot(page, "06-registered");
    check(true, "account 1 registered at Kamailio");

    // An invalid value is refused and the old config stays.
    await page.goto(base + "/accounts");
    await page.fill(`${form} input[name="expires"]`, "5");
    await page.click(`${form} button[value="save"]`);
    await page.waitForURL(/\/accounts\?/);
    check(/expires/.test(await page.textContent("#page-error")), "invalid expires refused: " + await page.textContent("#page-error"));
    await shot(page, "07-invalid");
  }
} finally {
  await browser.close();
}
