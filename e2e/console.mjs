// The console in a real browser: Debian's chromium driven by playwright-core. Started by
// tests/it/console_e2e.rs, which runs the appliance in-process and passes what it made in the
// environment. Every step saves a screenshot under $SHOTS for a person to look at.
import { chromium } from "playwright-core";
import { env, run } from "./lib.mjs";
const SETUP_URL = env("SETUP_URL");
const BASE = env("BASE");
const ADMIN_EMAIL = env("ADMIN_EMAIL");
const ADMIN_PASSWORD = env("ADMIN_PASSWORD");
const SIM_TENANT = env("SIM_TENANT");
const SIM_OWNER = env("SIM_OWNER");
const OWNER_PASSWORD = env("OWNER_PASSWORD");
const SHOTS = env("SHOTS");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const { problems, check, snap, finish } = run(SHOTS);

// Every visible form control has a label; reported per page.
async function labelled(page, where) {
  const missing = await page.evaluate(() => {
    const out = [];
    document.querySelectorAll("input, select, textarea").forEach((el) => {
      if (el.type === "hidden") { return; }
      const named = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label");
      if (!named) { out.push(el.outerHTML.slice(0, 80)); }
    });
    return out;
  });
  check(missing.length === 0, `${where}: every form control has a label ${missing.join(" ")}`);
}

// WCAG contrast of the default (light) theme's pairs that carry text.
async function contrast(page, where) {
  const ratios = await page.evaluate(() => {
    const rgb = (s) => (s.match(/\d+(\.\d+)?/g) || []).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a, b) => { const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const out = {};
    const body = getComputedStyle(document.body);
    out.body = ratio(body.color, body.backgroundColor);
    const a = document.querySelector("a");
    const card = document.querySelector(".card") || document.body;
    const cardBg = getComputedStyle(card).backgroundColor;
    if (a) { out.link = ratio(getComputedStyle(a).color, cardBg === "rgba(0, 0, 0, 0)" ? body.backgroundColor : cardBg); }
    const btn = document.querySelector("button:not(.link)");
    if (btn) { const s = getComputedStyle(btn); out.button = ratio(s.color, s.backgroundColor); }
    const help = document.querySelector(".help, .muted");
    if (help) { out.help = ratio(getComputedStyle(help).color, cardBg); }
    return out;
  });
  for (const [k, v] of Object.entries(ratios)) {
    check(v >= 4.5, `${where}: contrast of ${k} text is ${v.toFixed(2)} (AA needs 4.5)`);
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const cspViolations = [];
async function newPage(opts = {}) {
  const ctx = await browser.newContext({ colorScheme: "light", locale: "en-US", ...opts });
  const page = await ctx.newPage();
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) {
      const at = m.location();
      cspViolations.push(`${page.url()} (${at.url}:${at.lineNumber}): ${m.text().slice(0, 90)}`);
    }
  });
  return page;
}

try {
  // 1. First run: the setup link creates the admin and signs in.
  {
    const page = await newPage();
    await page.goto(SETUP_URL);
    await labelled(page, "setup");
    await snap(page, "setup");
    await page.fill("#email", "root@example.com");
    await page.fill("#password", ADMIN_PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForURL(/\/console$/);
    check(await page.isVisible("text=Active tenants"), "setup signs the new admin in to the dashboard");
    await snap(page, "dashboard-after-setup");
    const again = await page.goto(SETUP_URL);
    check(again.status() === 404, "the setup link is gone once used");
    await page.context().close();
  }

  // 2. The admin signs in, with the keyboard.
  const admin = await newPage();
  await admin.goto(`${BASE}/console/login`);
  await labelled(admin, "login");
  await contrast(admin, "login");
  await admin.keyboard.press("Tab");
  const firstFocus = await admin.evaluate(() => document.activeElement && document.activeElement.className);
  check(firstFocus === "skip", "the first Tab reaches the skip link");
  await admin.focus("#email");
  await admin.keyboard.type(ADMIN_EMAIL);
  await admin.keyboard.press("Tab");
  await admin.keyboard.type(ADMIN_PASSWORD);
  await snap(admin, "login");
  await admin.keyboard.press("Enter");
  await admin.waitForURL(/\/console$/);
  await snap(admin, "dashboard");
  await contrast(admin, "dashboard");

  // 3. A plan, then a tenant on it with its owner invited.
  await admin.click("nav >> text=Plans");
  await labelled(admin, "plans");
  await admin.fill("#pname", "Esnaf");
  await admin.fill("#f-sessions", "2");
  await admin.click("text=Create plan");
  await admin.waitForURL(/\/console\/plans\?done=created$/);
  check(await admin.isVisible("td >> text=Esnaf"), "the new plan is listed");
  await snap(admin, "plans");

  // 3b. The reseller's billing screen: revenue (a transfer recorded before the run), prices.
  await admin.click("nav >> text=Billing");
  await admin.waitForURL(/\/console\/billing$/);
  await labelled(admin, "billing");
  check(await admin.isVisible("td >> text=1,499.90 TRY"), "the billing screen shows this month's revenue");
  const esnaf = admin.locator("form[aria-label=Esnaf]");
  await esnaf.locator("input[name=stars]").fill("250");
  await esnaf.locator("input[name=manual]").fill("499,90");
  await esnaf.locator("input[name=offered]").check();
  await esnaf.locator("button").click();
  await admin.waitForURL(/\/console\/billing\?done=price$/);
  check(await admin.isVisible("text=Price saved."), "a plan's price is saved from the billing screen");
  await snap(admin, "billing");
  await contrast(admin, "billing");

  await admin.click("nav >> text=Tenants");
  await labelled(admin, "tenants");
  await admin.fill("#name", "Bebek Kahve");
  await admin.selectOption("#plan", { label: "Esnaf" });
  await admin.fill("#owner", "zeynep@example.com");
  await admin.click("text=Create tenant");
  await admin.waitForURL(/\/console\/tenants\/\d+/);
  check(await admin.isVisible("h1 >> text=Bebek Kahve"), "the tenant page opens");
  const invite = (await admin.textContent("code.copy")).trim();
  check(invite.includes("/console/invite?token="), "the owner's one-time link is shown");
  await snap(admin, "tenant-created");

  // Search filters the list as one types (htmx).
  await admin.click("nav >> text=Tenants");
  await admin.fill("#q", "bebek");
  await admin.waitForFunction(() => document.querySelectorAll("#tenant-rows tr").length === 1);
  check((await admin.textContent("#tenant-rows")).includes("Bebek Kahve"), "search finds the tenant without a reload");
  await snap(admin, "tenant-search");

  // 4. Workers: a killed worker comes back, seen without reloading (SSE).
  await admin.click("nav >> text=Workers");
  const row = `tr[data-worker="${SIM_TENANT}"]`;
  await admin.waitForSelector(`${row} .state-running`, { timeout: 30000 });
  const pid = Number((await admin.textContent(`${row} td:nth-child(3)`)).trim());
  check(pid > 0, `the sim tenant's worker runs as pid ${pid}`);
  await snap(admin, "workers");
  const marker = await admin.evaluate(() => { window.__notReloaded = true; return true; });
  process.kill(pid, "SIGKILL");
  await admin.waitForFunction(
    ([sel, old]) => {
      const cell = document.querySelector(`${sel} td:nth-child(3)`);
      const state = document.querySelector(`${sel} .state-running`);
      return cell && state && Number(cell.textContent.trim()) > 0 && Number(cell.textContent.trim()) !== old;
    },
    [row, pid],
    { timeout: 60000 },
  );
  const restarts = Number((await admin.textContent(`${row} td:nth-child(5)`)).trim());
  check(restarts >= 1, `the restart is counted (${restarts})`);
  check(marker && (await admin.evaluate(() => window.__notReloaded === true)), "the page was not reloaded");
  await snap(admin, "workers-after-kill");

  // 5. The invited owner joins from the link and sees only their tenant.
  {
    const owner = await newPage();
    await owner.goto(invite);
    await labelled(owner, "invitation");
    await snap(owner, "invitation");
    await owner.fill("#password", OWNER_PASSWORD);
    await owner.click("button[type=submit]");
    await owner.waitForURL(/\/console\/tenants\/\d+/);
    check(await owner.isVisible("h1 >> text=Bebek Kahve"), "the owner lands on their tenant");
    check(!(await owner.isVisible("text=Delete this tenant")), "an owner has no admin actions");
    const workers = await owner.goto(`${BASE}/console/workers`);
    check(workers.status() === 404, "the workers page is missing for an owner");
    const other = await owner.goto(`${BASE}/console/tenants/${SIM_TENANT}`);
    check(other.status() === 404, "another tenant is missing for an owner");
    await snap(owner, "owner-other-tenant-404");
    await owner.context().close();
  }

  // 6. The sim tenant's owner sees the groups its session reported.
  {
    const owner = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await owner.goto(`${BASE}/console/login`);
    await owner.fill("#email", SIM_OWNER);
    await owner.fill("#password", OWNER_PASSWORD);
    await owner.click("button[type=submit]");
    await owner.waitForURL(/\/console\/tenants\/\d+/);
    const groups = await owner.$$eval("section:has(h2:text('Groups')) tbody tr", (r) => r.length);
    check(groups >= 1, `the owner sees the session's groups (${groups})`);
    await snap(owner, "owner-tenant-phone");
    await owner.context().close();
  }

  // 7. That owner enables a group with a tag, writes a template with its preview, builds a
  //    campaign, runs it, and reads the run's lines.
  {
    const owner = await newPage();
    await owner.goto(`${BASE}/console/login`);
    await owner.fill("#email", SIM_OWNER);
    await owner.fill("#password", OWNER_PASSWORD);
    await owner.click("button[type=submit]");
    await owner.waitForURL(/\/console\/tenants\/\d+/);
    await owner.waitForSelector('[data-chart="messages"][data-drawn] canvas', { timeout: 15000 });
    await owner.waitForSelector('[data-chart="deliveries"][data-drawn] canvas', { timeout: 15000 })
      .catch(async (e) => { throw new Error(`deliveries chart: ${await owner.textContent('[data-chart="deliveries"]')}`); });
    check(true, "the statistics charts are drawn from the API with the session cookie");
    await snap(owner, "tenant-charts");
    await owner.click("nav.sub >> text=Subscription");
    await owner.waitForURL(/\/subscription$/);
    check(await owner.locator("text=Payments").count() >= 1, "the subscription screen shows its history and payments");
    check(await owner.locator("a[href$='/pdf']").count() >= 1, "the subscription screen lists the invoice's PDF");
    await labelled(owner, "subscription");
    await snap(owner, "subscription");
    await owner.goBack();
    const form = owner.locator("section:has(h2:text('Groups')) form:has(input[type=checkbox])").first();
    await form.locator("input[type=checkbox]").check();
    await form.locator("input[name=tags]").fill("kampanya");
    await form.locator("button").click();
    await owner.waitForURL(/done=group/);
    check(await owner.isVisible("text=Group saved."), "a group is enabled and tagged");
    await labelled(owner, "tenant (owner)");

    await owner.click("nav.sub >> text=Templates");
    await labelled(owner, "templates");
    // A photo goes up with its progress shown, and the page lists it.
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
    await owner.setInputFiles("#m-file", { name: "lale.png", mimeType: "image/png", buffer: png });
    await Promise.all([owner.waitForEvent("load"), owner.click("text=Upload")]);
    check(await owner.isVisible("li >> text=lale.png"), "an uploaded photo is listed");
    await owner.fill("#tpl-name", "Hafta sonu");
    await owner.fill("#tpl-body", "**{group.title}**: hafta sonu %10 indirim & <fırsat>!");
    await owner.fill("#tpl-buttons", "Sipariş ver - https://example.com/siparis | Menü - https://example.com/menu");
    await owner.waitForFunction(() => document.querySelector("#preview b") && document.querySelectorAll("#preview .tg-button").length === 2, null, { timeout: 10000 });
    check(true, "the preview shows the two link buttons in one row");
    const preview = await owner.innerHTML("#preview");
    check(preview.includes("<b") && preview.includes("&lt;fırsat&gt;") && !preview.includes("{group.title}"),
      `the preview fills variables, shows bold and escapes markup: ${preview}`);
    await snap(owner, "template-preview");
    await owner.click("text=Save template");
    await owner.waitForURL(/templates\?done=saved/);
    check(await owner.isVisible("td >> text=Hafta sonu"), "the template is listed");

    await owner.goto(owner.url().replace(/templates.*$/, "campaigns"));
    await labelled(owner, "campaigns");
    await owner.fill("#c-name", "Cumartesi");
    await owner.fill("#c-tags", "kampanya");
    await owner.selectOption("#c-kind", "every");
    await owner.fill("#c-value", "60");
    await owner.click("text=Save campaign");
    await owner.waitForURL(/campaigns\?done=created/);
    await owner.click("text=Run now");
    await owner.waitForURL(/campaigns\?done=started/);
    await snap(owner, "campaigns");
    await owner.click("td >> a >> text=Cumartesi");
    await owner.waitForURL(/campaigns\/\d+$/);
    const nextRuns = await owner.$$eval("#next-runs li", (l) => l.length);
    check(nextRuns === 5, `the campaign page lists its next five runs (${nextRuns})`);
    check(await owner.isVisible("td >> text=ready"), "the pre-flight check finds the tagged group ready");
    await labelled(owner, "campaign");
    await snap(owner, "campaign-check");
    // Changed after saving, from its page: a longer interval and a last day.
    await owner.click("summary >> text=Change this campaign");
    await labelled(owner, "campaign change");
    check(await owner.inputValue("#e-value") === "60", "the change form shows the campaign as saved");
    await owner.fill("#e-value", "90");
    await owner.fill("#e-to", "2027-06-30");
    await snap(owner, "campaign-change-form");
    await owner.click("text=Save changes");
    await owner.waitForURL(/campaigns\/\d+\?done=saved$/);
    check(await owner.isVisible("text=Campaign saved"), "the campaign is changed from its page");
    check(await owner.isVisible("text=/– 2027-06-30/"), "its last day shows with the schedule");
    await owner.click("text=Run 1");
    await owner.waitForURL(/runs\/1$/);
    let sent = false;
    for (let i = 0; i < 60 && !sent; i++) {
      sent = await owner.isVisible("td >> text=sent");
      if (!sent) { await owner.waitForTimeout(500); await owner.reload(); }
    }
    check(sent, "the run's line for the tagged group says sent");
    await snap(owner, "run-lines");

    // Group rules: a welcome in a dry run is saved; a filter needs admin rights the
    // simulated session does not have, and the form says so, keeping what was typed.
    await owner.goto(owner.url().replace(/campaigns.*$/, "rules"));
    await labelled(owner, "rules");
    await contrast(owner, "rules");
    check(!(await owner.isVisible("#r-kw")), "only the chosen kind's settings show");
    await owner.fill("#r-name", "Hoş geldin");
    await owner.selectOption("#r-tpl", { label: "Hafta sonu" });
    await owner.check("#r-g1");
    await owner.check("#r-dry");
    await owner.fill("#r-gap", "120");
    await snap(owner, "rules-form-welcome");
    await owner.click("text=Save rule");
    await owner.waitForURL(/rules\?done=created/);
    check(await owner.isVisible("td >> text=Hoş geldin"), "the rule is listed");
    check(await owner.isVisible('span.state >> text="Dry run"'), "its state says dry run");
    await owner.selectOption("#r-kind", "filter");
    check(await owner.isVisible("#r-links") && !(await owner.isVisible("#r-gap")), "the filter's settings replace the welcome's");
    await owner.fill("#r-name", "Bağlantı yok");
    await owner.check("#r-g1");
    await owner.fill("#r-words", "kumar, bahis");
    await owner.click("text=Save rule");
    check(await owner.isVisible("text=/is not an admin: make it an admin allowed to delete messages/"), "a filter without admin rights is refused, saying what is missing");
    check(await owner.inputValue("#r-words") === "kumar, bahis", "the refused form keeps what was typed");
    await snap(owner, "rules-refused");
    await owner.click("tr:has-text('Hoş geldin') >> text=Act for real");
    await owner.waitForURL(/rules\?done=changed/);
    check(await owner.isVisible('span.state >> text="On"'), "the dry run is switched off");
    await snap(owner, "rules");
    await owner.context().close();
  }

  // 6b. The appliance: brand name, colour and logo, applied at once; the server log and alerts.
  {
    await admin.click("nav >> text=Settings");
    await admin.waitForURL(/\/console\/appliance$/);
    await labelled(admin, "appliance");
    await admin.fill("#a-name", "Kuzey Bot");
    await admin.fill("#a-accent", "#7a1fa2");
    await admin.click("form[action='/console/appliance'] button[type=submit]");
    await admin.waitForURL(/appliance\?done=saved/);
    check(await admin.isVisible("header .brand >> text=Kuzey Bot"), "the new product name is in the header at once");
    const bg = await admin.evaluate(() => getComputedStyle(document.querySelector("main button")).backgroundColor);
    check(bg === "rgb(122, 31, 162)", `buttons take the brand colour (${bg})`);
    const logo = await admin.evaluate(() => {
      const c = document.createElement("canvas");
      c.width = 56; c.height = 56;
      const g = c.getContext("2d");
      g.fillStyle = "#7a1fa2"; g.beginPath(); g.arc(28, 28, 27, 0, 7); g.fill();
      g.fillStyle = "#ffffff"; g.font = "bold 32px sans-serif"; g.fillText("K", 17, 39);
      return c.toDataURL("image/png").split(",")[1];
    });
    await admin.setInputFiles("#a-logo", { name: "logo.png", mimeType: "image/png", buffer: Buffer.from(logo, "base64") });
    await admin.click("text=Upload logo");
    await admin.waitForSelector("header .brand img");
    await contrast(admin, "appliance (brand colour)");
    await snap(admin, "appliance-branded");
    await admin.click("nav >> text=Logs");
    await admin.waitForURL(/\/console\/logs$/);
    await labelled(admin, "server log");
    check(await admin.isVisible("td >> text=/tenant created/"), "the server log shows a tenant being created");
    await snap(admin, "server-log");
    await admin.click("nav >> text=Audit and alerts");
    await labelled(admin, "audit");
    await admin.fill("#au-q", "tenant.created");
    await admin.click("text=Filter");
    await admin.waitForURL(/audit\?q=tenant/);
    check(await admin.isVisible("td >> text=tenant.created"), "the audit log filters by text");
    await snap(admin, "audit-alerts");
    await admin.click("nav >> text=Mail");
    await admin.waitForURL(/\/console\/mail$/);
    await labelled(admin, "mail");
    await contrast(admin, "mail");
    check(await admin.isVisible("text=SMTP server"), "the Mail page shows the server's form");
    await snap(admin, "mail");
    await admin.click("nav >> text=News");
    await admin.waitForURL(/\/console\/marketing$/);
    await labelled(admin, "news");
    await admin.fill("#mk-subject", "Winter offer for {tenant.name}");
    await admin.fill("#mk-html", "<h2>Winter offer</h2><p>Hello {tenant.name}: the <b>{plan.name}</b> plan is 20 % off this month.</p><p><a href=\"https://example.com/plans\">See the plans</a></p>");
    await admin.click("text=Preview");
    await admin.waitForURL(/\/console\/marketing\/\d+$/);
    check(await admin.isVisible("text=/It would go to \\d+ owners/"), "the draft says how many it would reach");
    // The preview is the mail itself, in a frame of its own that runs nothing.
    await admin.frameLocator("iframe.mail-preview").locator("h2 >> text=Winter offer").waitFor();
    await snap(admin, "news-preview");
    await admin.click("nav >> text=Backups");
    await admin.waitForURL(/\/console\/backups$/);
    await labelled(admin, "backups");
    await contrast(admin, "backups");
    await admin.click("button >> text=Back up now");
    await admin.waitForURL(/done=started/);
    for (let i = 0; i < 100 && !(await admin.isVisible("td code >> text=/botyard-/")); i++) {
      await admin.waitForTimeout(100);
      await admin.goto(`${BASE}/console/backups`);
    }
    check(await admin.isVisible("td code >> text=/botyard-/"), "the backup made is listed");
    await snap(admin, "backups");
  }

  // 6b. The launch checklist: what is still missing, each with its page.
  await admin.click("nav >> text=Launch");
  await labelled(admin, "launch");
  await contrast(admin, "launch");
  check(await admin.isVisible("h1 >> text=Launch checklist"), "the launch checklist opens");
  check((await admin.locator("ul.checklist li").count()) === 7, "seven things a launch needs");
  check(await admin.isVisible("a >> text=Set it up"), "a missing one links to its page");
  await snap(admin, "launch");

  // 6c. Every screen's Help link opens its section of the guide; the guide is searched.
  await admin.click("header >> a.help-link");
  await admin.waitForURL(/\/help\/en\/reseller#launch$/);
  check(await admin.isVisible("h2#launch"), "the launch page's help is the reseller guide's launch section");
  await labelled(admin, "help");
  await contrast(admin, "help");
  await snap(admin, "help-reseller");
  await admin.fill("#help-q", "cron");
  await admin.press("#help-q", "Enter");
  await admin.waitForURL(/\/help\/en\/search\?q=cron/);
  check(await admin.locator("ol.help-hits a[href='/help/en/campaigns#cron']").count() === 1, "the guide's search finds the cron section");
  await snap(admin, "help-search");

  // 6d. The storefront, turned on in the settings: the plans on sale, nothing from elsewhere.
  await admin.goto(`${BASE}/console/appliance`);
  await admin.check("#a-store");
  await admin.click("form[action='/console/appliance'] button[type=submit]");
  await admin.waitForURL(/appliance\?done=/);
  const foreign = [];
  admin.on("request", (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) { foreign.push(r.url()); } });
  await admin.goto(`${BASE}/?lang=en`);
  check(await admin.isVisible("h2 >> text=Plans and prices"), "the storefront lists the plans on sale");
  check(await admin.locator(".store-plans li.card").count() >= 1, "the offered plan is on the storefront");
  check(foreign.length === 0, `the storefront asks nothing of other sites (${foreign.join(", ")})`);
  await labelled(admin, "storefront");
  await contrast(admin, "storefront");
  await snap(admin, "storefront");
  await admin.setViewportSize({ width: 390, height: 844 });
  await admin.goto(`${BASE}/?lang=tr`);
  check(await admin.isVisible("h2 >> text=Paketler ve fiyatlar"), "the storefront in Turkish");
  await snap(admin, "storefront-phone-turkish");
  await admin.setViewportSize({ width: 1280, height: 720 });
  await admin.goto(`${BASE}/console/launch`);

  // 7. Turkish, chosen on the account page.
  await admin.click("nav >> text=Account");
  await labelled(admin, "account");
  await admin.selectOption("#language", "tr");
  await admin.fill("#tz", "Europe/Istanbul");
  await admin.click("text=Save");
  await admin.waitForURL(/done=prefs/);
  check(await admin.isVisible("nav >> text=Müşteriler"), "the console speaks Turkish after the choice");
  await snap(admin, "account-turkish");
  await admin.click("nav >> text=Pano");
  await snap(admin, "dashboard-turkish");
  await admin.click("nav >> text=Yayına hazırlık");
  await snap(admin, "launch-turkish");
  await admin.click("header >> a.help-link");
  await admin.waitForURL(/\/help\/tr\/reseller#launch$/);
  check(await admin.isVisible("html[lang=tr]"), "the guide opens in the reader's language");
  await admin.setViewportSize({ width: 390, height: 844 });
  await snap(admin, "help-reseller-phone-turkish");
  await admin.setViewportSize({ width: 1280, height: 720 });
  await admin.goto(`${BASE}/console`);
  await admin.click("nav >> text=Yedekler");
  await admin.setViewportSize({ width: 390, height: 844 });
  await snap(admin, "backups-turkish-phone");
  await admin.setViewportSize({ width: 1280, height: 720 });

  // Dark, and Turkish on a phone: the same pages, read in each theme and language.
  {
    const dark = await newPage({ colorScheme: "dark", locale: "tr-TR", extraHTTPHeaders: { "accept-language": "tr" } });
    await dark.goto(`${BASE}/console/login`);
    await dark.fill("#email", SIM_OWNER);
    await dark.fill("#password", OWNER_PASSWORD);
    await dark.click("button[type=submit]");
    await dark.waitForURL(/\/console\/tenants\/\d+/);
    const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check(bg === "rgb(17, 20, 24)", `the dark theme applies (${bg})`);
    await contrast(dark, "tenant (dark)");
    await snap(dark, "tenant-dark-turkish");
    await dark.setViewportSize({ width: 390, height: 844 });
    await dark.goto(dark.url().replace(/\/console\/tenants\/(\d+).*$/, "/console/tenants/$1/campaigns"));
    await snap(dark, "campaigns-dark-phone-turkish");
    await dark.goto(dark.url().replace(/\/campaigns$/, "/rules"));
    await labelled(dark, "rules (dark)");
    await contrast(dark, "rules (dark)");
    check(await dark.isVisible("h1 >> text=Grup kuralları"), "the rules page speaks Turkish");
    await snap(dark, "rules-dark-phone-turkish");
    await dark.goto(dark.url().replace(/\/rules$/, "/subscription"));
    await contrast(dark, "subscription (dark)");
    await snap(dark, "subscription-dark-phone-turkish");
    await dark.goto(`${BASE}/console/account`);
    await labelled(dark, "account (dark)");
    await contrast(dark, "account (dark)");
    check(await dark.isVisible("text=Bildirimler"), "the account page has the notification settings");
    await snap(dark, "account-notices-dark-phone-turkish");
    await dark.context().close();
  }

  // The pages behind mailed links, before sign-in: English on a desktop, Turkish dark on a phone.
  {
    const light = await newPage({ locale: "en-US" });
    await light.goto(`${BASE}/console/login`);
    await light.click("text=Forgot your password?");
    await light.waitForURL(/\/console\/forgot$/);
    await labelled(light, "forgot");
    await contrast(light, "forgot");
    await snap(light, "forgot-password");
    await light.fill("#email", "nobody@example.com");
    await light.click("button[type=submit]");
    check(await light.isVisible("text=/a link is on its way/"), "asking for a reset says the same for any address");
    await snap(light, "forgot-password-sent");
    await light.context().close();
    const dark = await newPage({ colorScheme: "dark", locale: "tr-TR", extraHTTPHeaders: { "accept-language": "tr" } });
    await dark.setViewportSize({ width: 390, height: 844 });
    await dark.goto(`${BASE}/console/reset?token=abc`);
    await labelled(dark, "reset (dark)");
    await contrast(dark, "reset (dark)");
    await snap(dark, "reset-dark-phone-turkish");
    await dark.context().close();
  }

  // 8. Sign out: the cookie is gone and the console asks to sign in again.
  await admin.click("text=Çıkış yap");
  await admin.waitForURL(/\/console\/login\?out=1/);
  await admin.goto(`${BASE}/console`);
  check(/\/console\/login$/.test(admin.url()), "after signing out the console asks to sign in");
  const cookies = await admin.context().cookies();
  check(!cookies.some((c) => c.name.includes("botyard_session")), "the session cookie is removed");
  await snap(admin, "signed-out");
} catch (e) {
  problems.push(String(e && e.stack ? e.stack : e));
  console.log(String(e));
} finally {
  await browser.close();
}

check(cspViolations.length === 0, `no CSP violations ${cspViolations.join(" | ")}`);
finish();
