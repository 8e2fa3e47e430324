// The Mini-App in a real browser at a phone's size: Debian's chromium driven by playwright-core,
// opened the way Telegram opens it (the launch parameters in the URL's hash), with a stub of
// Telegram's WebView bridge that records what the page asks of the Telegram app (MainButton,
// BackButton, haptics, popups) and answers its popups. Started by tests/it/miniapp_e2e.rs,
// which runs the appliance in-process and passes signed initData in the environment.
// Screenshots of every screen, in both languages and both themes, land in $SHOTS.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { env, recorder, run } from "./lib.mjs";
import { DARK, LIGHT, bridge, clearEvents, events, last, launchUrl, press } from "./telegram.mjs";

const BASE = env("BASE");
const TENANT = env("TENANT");
const INIT_DATA = env("INIT_DATA");
const INIT_DATA_2 = env("INIT_DATA_2");
const OWNER_EMAIL = env("OWNER_EMAIL");
const OWNER_PASSWORD = env("OWNER_PASSWORD");
const SHOTS = env("SHOTS");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const { check, snap, finish } = run(SHOTS);

const launch = (data, theme) => launchUrl(BASE, data, theme);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const base = `${BASE}/app/tenants/${TENANT}`;
try {
  // ---- sign in from Telegram, light theme, English ----
  const ctx = await browser.newContext({ ...phone, locale: "en-US" });
  await ctx.addInitScript(bridge);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => check(false, `no script error: ${e.message}`));
  await page.goto(launch(INIT_DATA, LIGHT));
  await page.waitForURL(`${base}`);
  check(await page.locator("body.tg").count() === 1, "inside Telegram the page takes Telegram's theme");
  let all = await events(page);
  check(all.some((e) => e[0] === "web_app_ready") && all.some((e) => e[0] === "web_app_expand"),
    "the app tells Telegram it is ready and asks to be expanded");
  const bg = await page.evaluate(() => getComputedStyle(document.querySelector(".card")).backgroundColor);
  check(bg === "rgb(255, 255, 255)", `cards take the theme's section colour (${bg})`);
  check(await page.locator("nav.tabs a").count() === 5, "the tab bar has five tabs");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `nothing is wider than the phone (${width}px)`);
  await page.waitForSelector('[data-chart="messages"][data-drawn] canvas', { timeout: 15000 });
  await page.waitForSelector('[data-chart="users"][data-drawn] canvas', { timeout: 15000 });
  await snap(page, "app-dashboard-light-en");

  // ---- groups: enable one for automation, with a tag ----
  await page.click("nav.tabs >> text=Groups");
  await page.waitForURL(`${base}/groups`);
  await clearEvents(page);
  const row = page.locator("section:has(h2:text('Groups')) form:has(input[type=checkbox])").first();
  await row.locator("input[type=checkbox]").check();
  await row.locator("input[name=tags]").fill("vitrin");
  await row.locator("button[type=submit]").click();
  await page.waitForURL(/groups\?done=group/);
  all = await events(page);
  const buzz = last(all, "web_app_trigger_haptic_feedback");
  check(buzz && buzz[1].type === "notification" && buzz[1].notification_type === "success",
    "a saved change buzzes success");
  check(!all.some((e) => e[0] === "web_app_setup_back_button" && e[1].is_visible),
    "a tab's top screen has no Back button");
  await page.fill("#gq", "GRUP");
  await page.press("#gq", "Enter");
  await page.waitForURL(/groups\?q=GRUP/);
  check(await page.locator("section:has(h2:text('Groups')) tbody tr").count() >= 1, "group search ignores case");
  await snap(page, "app-groups-light-en");

  // ---- a template, saved with Telegram's MainButton ----
  const tutorial = await recorder(page, "first-campaign");
  await tutorial.say("Open Templates to write the message your campaign will post.",
    "Kampanyanızın göndereceği mesajı yazmak için Şablonlar'ı açın.");
  await page.click("nav.tabs >> text=Templates");
  await page.waitForURL(`${base}/templates`);
  all = await events(page);
  const main = last(all, "web_app_setup_main_button");
  check(main && main[1].is_visible && main[1].text === "Save template", "the MainButton says what the screen does");
  check(!(await page.locator("#tpl-form button[type=submit]").isVisible()), "the form's own button gives way to it");
  await tutorial.say("Give it a name and write the text: **bold**, links, and variables such as the group's title.",
    "Bir ad verin ve metni yazın: **kalın**, bağlantılar ve grubun adı gibi değişkenler.");
  await page.fill("#tpl-name", "Vitrin");
  await page.fill("#tpl-body", "Yeni sezon **{group.title}** için indirim!");
  await page.selectOption("#tpl-var", "{date}");
  check((await page.inputValue("#tpl-body")).includes("{date}"), "the variables picker puts a variable into the text");
  await page.waitForSelector("#preview b", { timeout: 10000 });
  await page.waitForFunction(() => /\/ 4,096/.test(document.getElementById("tpl-count").textContent), null, { timeout: 10000 });
  check(true, "the length is counted against Telegram's 4,096");
  await snap(page, "app-template-editor-light-en");
  await tutorial.say("The preview shows it as Telegram will. Save it with the button at the bottom.",
    "Önizleme, mesajı Telegram'ın göstereceği gibi gösterir. Alttaki düğmeyle kaydedin.");
  await press(page, "main_button_pressed");
  await page.waitForURL(/templates\?done=saved/);
  check(await page.locator("text=Vitrin").count() >= 1, "the template is saved from the MainButton");

  // ---- a campaign: created with the MainButton, run now after Telegram's confirmation ----
  await tutorial.say("Now open Campaigns and fill in a new one.", "Şimdi Kampanyalar'ı açın ve yeni bir kampanya doldurun.");
  await page.click("nav.tabs >> text=Campaigns");
  await page.waitForURL(`${base}/campaigns`);
  await tutorial.say("Name it and choose the groups by their tag.", "Ad verin ve grupları etiketleriyle seçin.");
  await page.fill("#c-name", "Sabah");
  await page.fill("#c-tags", "vitrin");
  await page.selectOption("#c-kind", "weekly");
  await page.fill("#c-value", "09:30");
  await page.check("#c-d0");
  await page.check("#c-d4");
  await page.waitForFunction(() => document.querySelectorAll("#c-next li").length === 5, null, { timeout: 10000 });
  const firstRun = await page.textContent("#c-next li");
  check(/^(Mon|Fri) .*09:30$/.test(firstRun.trim()), `the builder shows the next runs in words (${firstRun})`);
  await tutorial.say("Pick the days and the time: the next runs are listed, so you can check them.",
    "Günleri ve saati seçin: sıradaki gönderimler listelenir, böylece kontrol edebilirsiniz.");
  await snap(page, "app-campaign-new-light-en");
  await press(page, "main_button_pressed");
  await page.waitForURL(/campaigns\?done=created/);
  await clearEvents(page);
  await tutorial.say("Saved. Run it now once to see it work; Telegram asks you to confirm.",
    "Kaydedildi. Çalıştığını görmek için şimdi bir kez çalıştırın; Telegram onay ister.");
  await page.locator("tr:has-text('Sabah') button:text('Run now')").click();
  // (The list is already at ?done=created: wait for the run's own answer.)
  await page.waitForURL((u) => u.search.includes("done=") && !u.search.includes("done=created"));
  all = await events(page);
  check(all.some((e) => e[0] === "web_app_open_popup"), "running now asks Telegram to confirm first");
  await page.locator("tbody a:text('Sabah')").first().click();
  await page.waitForURL(/campaigns\/\d+$/);
  all = await events(page);
  const backBtn = last(all, "web_app_setup_back_button");
  check(backBtn && backBtn[1].is_visible, "a nested screen shows Telegram's Back button");
  await snap(page, "app-campaign-light-en");
  await tutorial.say("The campaign's page shows every run and what happened in each group.",
    "Kampanyanın sayfası her gönderimi ve her grupta ne olduğunu gösterir.");
  await tutorial.stop();
  await press(page, "back_button_pressed");
  await page.waitForURL(`${base}/campaigns`);
  check(true, "Back goes to the parent screen");

  // ---- the dashboard counts the run ----
  let counted = false;
  for (let i = 0; i < 40 && !counted; i += 1) {
    await page.goto(base);
    const n = await page.locator(".compare >> nth=0 >> .tile:has-text('Campaign posts') .n").textContent();
    counted = Number(n) >= 1;
    if (!counted) { await page.waitForTimeout(250); }
  }
  check(counted, "the dashboard counts today's campaign posts");
  await snap(page, "app-dashboard-after-run-en");
  const stats = await recorder(page, "statistics");
  await stats.say("Home shows today against yesterday: messages, active members and your campaign posts.",
    "Ana sayfa bugünü dünle karşılaştırır: mesajlar, aktif üyeler ve kampanya gönderileriniz.");
  await page.waitForSelector('[data-chart="messages"][data-drawn] canvas', { timeout: 15000 });
  await page.mouse.wheel(0, 500);
  await stats.say("Below, the charts show each day, and the busy hours of your groups.",
    "Aşağıda grafikler her günü ve gruplarınızın yoğun saatlerini gösterir.");
  await page.mouse.wheel(0, 700);
  await stats.say("Further down: the next campaign runs, and anything that needs you.",
    "Daha aşağıda: sıradaki kampanya gönderimleri ve ilginizi bekleyen her şey.");
  await stats.stop();

  // ---- every screen, in English, then in Turkish ----
  const screens = ["", "/groups", "/templates", "/campaigns", "/rules", "/more", "/sessions", "/subscription", "/settings", "/members"];
  // The subscription: its trial started with the MainButton.
  await page.goto(`${base}/subscription`);
  const paying = await recorder(page, "paying-in-stars");
  await paying.say("Subscription shows your plan, its limits and what you use.",
    "Abonelik ekranı paketinizi, sınırlarını ve ne kadar kullandığınızı gösterir.");
  all = await events(page);
  const trialButton = last(all, "web_app_setup_main_button");
  check(trialButton && trialButton[1].text === "Start the free trial", "the subscription's main action is its trial");
  await press(page, "main_button_pressed");
  await page.waitForURL(/subscription\?done=trial/);
  check(await page.locator("text=Free trial started").count() === 1, "the trial starts from the app");
  await paying.say("Start the free trial with the button at the bottom. To pay, choose the period in Stars.",
    "Alttaki düğmeyle ücretsiz denemeyi başlatın. Ödemek için Yıldız ile dönemi seçin.");
  // Paying in Stars: the invoice opens inside Telegram (openInvoice) and the screen reloads
  // once Telegram says it is paid. (The platform bot cannot reach Telegram here, so the
  // invoice link is answered by the browser; the server's side runs against the fake
  // datacenter in tests/it/stars.rs.)
  const starsButton = page.locator("form[data-stars] button").first();
  check(await starsButton.count() === 1 && (await starsButton.textContent()).includes("250 Stars"),
    "the subscription offers its next period in Stars");
  await page.route("**/subscription/stars", (route) => route.fulfill({
    status: 200, contentType: "application/json", body: JSON.stringify({ url: "https://t.me/$e2eInvoice" }),
  }));
  await clearEvents(page);
  await starsButton.click();
  await page.waitForFunction(() => JSON.parse(sessionStorage.getItem("tgEvents") || "[]").some((e) => e[0] === "web_app_open_invoice"));
  all = await events(page);
  check(last(all, "web_app_open_invoice")[1].slug === "e2eInvoice", "the invoice opens in Telegram with openInvoice");
  await Promise.all([
    page.waitForEvent("load"),
    page.evaluate(() => window.Telegram.WebView.receiveEvent("invoice_closed", { slug: "e2eInvoice", status: "paid" })),
  ]);
  check(true, "a paid invoice reloads the subscription screen");
  await paying.say("Telegram shows the invoice; once paid, the screen shows the new end date and the invoice.",
    "Telegram faturayı gösterir; ödeme yapılınca ekranda yeni bitiş tarihi ve fatura görünür.");
  await paying.stop();
  await page.unroute("**/subscription/stars");
  await page.goto(`${base}/more`);
  await page.click("a:text('Group rules')");
  await page.waitForURL(`${base}/rules`);
  check(await page.locator("h1:text('Group rules')").count() === 1, "the More tab opens the group rules");
  for (const s of ["/sessions", "/subscription", "/rules", "/more"]) {
    await page.goto(base + s);
    await snap(page, `app${s.replace("/", "-")}-light-en`);
  }
  await page.goto(`${base}/more`);
  await page.click("button:text('Türkçe')");
  await page.waitForURL(`${base}/more`);
  check(await page.locator("h1:text('Diğer')").count() === 1, "the language switch turns the app Turkish");
  for (const s of screens) {
    // (networkidle: the charts and the schedule's preview have arrived before the picture.)
    await page.goto(base + s, { waitUntil: "networkidle" });
    check(await page.locator("html[lang=tr]").count() === 1, `${s || "/"} is in Turkish`);
    await snap(page, `app${s.replace("/", "-") || "-dashboard"}-light-tr`);
  }
  // The editors filled in, in Turkish, for the guide's pictures.
  await page.goto(`${base}/templates`, { waitUntil: "networkidle" });
  await page.fill("#tpl-name", "Hafta sonu");
  await page.fill("#tpl-body", "Hafta sonu **{group.title}** üyelerine %20 indirim! {date}");
  await page.waitForSelector("#preview b", { timeout: 10000 });
  await snap(page, "app-template-editor-light-tr");
  await page.goto(`${base}/campaigns`, { waitUntil: "networkidle" });
  await page.fill("#c-name", "Akşam");
  await page.fill("#c-tags", "vitrin");
  await page.selectOption("#c-kind", "weekly");
  await page.fill("#c-value", "18:00");
  await page.check("#c-d5");
  await page.waitForFunction(() => document.querySelectorAll("#c-next li").length === 5, null, { timeout: 10000 });
  await snap(page, "app-campaign-new-light-tr");
  await page.locator("tbody a:text('Sabah')").first().click();
  await page.waitForURL(/campaigns\/\d+$/);
  await snap(page, "app-campaign-light-tr");
  // The "?" at the top opens the guide at this screen's section.
  await page.click("header.app-top a.app-help");
  await page.waitForURL(/\/help\/tr\/campaigns#schedule$/);
  check(await page.isVisible("h2#schedule"), "the Mini-App's help opens the guide at the screen's section");
  const guideWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  check(guideWidth <= 390, `the guide fits the phone (${guideWidth}px)`);
  await snap(page, "app-guide-tr");
  await page.goto(`${BASE}/app/help`);
  await snap(page, "app-help-light-tr");
  await ctx.close();

  // ---- dark theme, the Telegram app in Turkish ----
  const dark = await browser.newContext({ ...phone, locale: "tr-TR", colorScheme: "dark" });
  await dark.addInitScript(bridge);
  const dp = await dark.newPage();
  await dp.goto(launch(INIT_DATA_2, DARK));
  await dp.waitForURL(`${base}`);
  const scheme = await dp.evaluate(() => document.documentElement.getAttribute("data-scheme"));
  check(scheme === "dark", "Telegram's dark theme makes the app dark");
  const dbg = await dp.evaluate(() => getComputedStyle(document.querySelector(".card")).backgroundColor);
  check(dbg === "rgb(33, 33, 33)", `dark cards take the theme's section colour (${dbg})`);
  await snap(dp, "app-dashboard-dark-tr");
  for (const s of ["/groups", "/templates", "/campaigns", "/subscription"]) {
    await dp.goto(base + s, { waitUntil: "networkidle" });
    await snap(dp, `app${s.replace("/", "-")}-dark-tr`);
  }
  await dark.close();

  // ---- outside Telegram: its own Back link, and the way in explained ----
  const web = await browser.newContext({ ...phone, locale: "en-US" });
  const wp = await web.newPage();
  await wp.goto(`${BASE}/app`);
  check(await wp.locator("#app-outside").isVisible(), "outside Telegram the opening page says how to open the app");
  await snap(wp, "app-outside-telegram-en");
  // Signed in in the phone's browser (as after a /web link), the app keeps its own Back link.
  await wp.goto(`${BASE}/console/login`);
  await wp.fill("input[name=email]", OWNER_EMAIL);
  await wp.fill("input[name=password]", OWNER_PASSWORD);
  await wp.click("button[type=submit]");
  await wp.waitForURL(/\/console/);
  await wp.goto(`${base}/campaigns`);
  await wp.locator("tbody a:text('Sabah')").first().click();
  await wp.waitForURL(/campaigns\/\d+$/);
  check(await wp.locator("body.tg").count() === 0, "outside Telegram the page keeps its own colours");
  const backLink = wp.locator("a[data-back]");
  check(await backLink.isVisible(), "outside Telegram a nested screen shows its own Back link");
  await snap(wp, "app-campaign-in-a-browser");
  await backLink.click();
  await wp.waitForURL(`${base}/campaigns`);
  check(!(await backLink.isVisible()), "the tab's top screen has no Back link");
  await web.close();

  // ---- performance: the dashboard's first load, compressed, and with the CPU 4x slower ----
  const perf = await browser.newContext({ ...phone, locale: "en-US" });
  await perf.addInitScript(bridge);
  const pp = await perf.newPage();
  await pp.goto(launch(INIT_DATA, LIGHT));
  await pp.waitForURL(`${base}`);
  const cdp = await perf.newCDPSession(pp);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  let bytes = 0;
  const foreign = [];
  cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; });
  cdp.on("Network.requestWillBeSent", (e) => { if (!e.request.url.startsWith(BASE)) { foreign.push(e.request.url); } });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  const times = [];
  for (let i = 0; i < 5; i += 1) {
    bytes = 0;
    await pp.goto(base, { waitUntil: "load" });
    await pp.waitForSelector('[data-chart="messages"][data-drawn]', { timeout: 15000 });
    const t = await pp.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return { interactive: nav.domInteractive, loaded: nav.loadEventEnd, ready: Number(document.body.getAttribute("data-ready-ms") || 0) };
    });
    times.push({ ...t, bytes });
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = {
    transferred_bytes: median(times.map((t) => t.bytes)),
    dom_interactive_ms: median(times.map((t) => t.interactive)),
    app_ready_ms: median(times.map((t) => t.ready)),
    load_ms: median(times.map((t) => t.loaded)),
    cpu_throttling: 4,
    runs: times.length,
  };
  fs.writeFileSync(path.join(SHOTS, "perf.json"), JSON.stringify(result, null, 2));
  console.log(`perf ${JSON.stringify(result)}`);
  check(foreign.length === 0, `everything comes from the appliance ${foreign.join(" ")}`);
  check(result.transferred_bytes < 150 * 1024, `first load under 150 KB (${result.transferred_bytes} B)`);
  check(result.app_ready_ms > 0 && result.app_ready_ms < 1000, `interactive under 1 s at 4x CPU (${result.app_ready_ms} ms)`);
  await perf.close();
} finally {
  await browser.close();
}
finish();
