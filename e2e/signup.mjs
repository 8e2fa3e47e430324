// Signing up from Telegram and asking for help, in a real browser: the Mini-App at a phone's
// size opened the way Telegram opens it (a stub of the WebView bridge, as in miniapp.mjs), then
// the console on a desktop for the reseller. Started by tests/it/signup_e2e.rs, which runs the
// appliance with its platform bot at the fake datacenter and has the user press Start first.
import { chromium } from "playwright-core";
import { env, recorder, run } from "./lib.mjs";
import { LIGHT, bridge, launchUrl, press } from "./telegram.mjs";

const BASE = env("BASE");
const INIT_DATA = env("INIT_DATA");
const INIT_DATA_EN = env("INIT_DATA_EN");
const SHOP_BOT = env("SHOP_BOT");
const ADMIN_EMAIL = env("ADMIN_EMAIL");
const ADMIN_PASSWORD = env("ADMIN_PASSWORD");
const SHOTS = env("SHOTS");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const { check, snap, finish } = run(SHOTS);

const launch = (data, theme) => launchUrl(BASE, data, theme);
// A tiny PNG, as a screenshot a shop owner would attach.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
try {
  // ---- sign up in the Mini-App, in Turkish (the user's Telegram language) ----
  const ctx = await browser.newContext({ ...phone, locale: "tr-TR" });
  await ctx.addInitScript(bridge);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => check(false, `no script error: ${e.message}`));
  await page.goto(launch(INIT_DATA, LIGHT));
  await page.waitForSelector("form[action='/app/signup']", { timeout: 15000 });
  check(await page.isVisible("h1 >> text=Ücretsiz denemenizi başlatın"), "a new Telegram user is offered to sign up");
  check(await page.isVisible("text=7 gün ücretsiz"), "the trial's plan and days are named");
  check(await page.isVisible("#invite"), "the beta asks for an invite code");
  await snap(page, "app-signup-form-tr");
  await page.fill("#business", "Nişantaşı Butik");
  await page.fill("#email", "selin@example.com");
  await page.fill("#invite", "yanlis");
  await press(page, "main_button_pressed");
  await page.waitForSelector("p.error[data-code='invite.unknown']", { timeout: 15000 });
  check(await page.inputValue("#business") === "Nişantaşı Butik", "a refused sign-up keeps what was typed");
  await snap(page, "app-signup-refused-tr");
  await page.fill("#invite", "beta2026");
  await press(page, "main_button_pressed");
  await page.waitForURL(/\/app\/tenants\/\d+$/, { timeout: 15000 });
  check(await page.isVisible("text=Nişantaşı Butik"), "the new business's home opens");
  const tenantUrl = page.url();
  await snap(page, "app-signed-up-home-tr");

  // ---- connect the shop's bot (the help's "connect a bot" tutorial) ----
  const tutorial = await recorder(page, "connect-a-bot");
  await page.goto(`${tenantUrl}/more`);
  await tutorial.say("In More, open Sessions: a session is the bot or account that posts for you.",
    "Diğer'de Oturumlar'ı açın: oturum, sizin adınıza gönderi yapan bot ya da hesaptır.");
  await page.click("a >> text=Oturumlar");
  await page.waitForURL(/\/sessions$/);
  await tutorial.say("Name the bot, and paste the token @BotFather gave you.",
    "Bota bir ad verin ve @BotFather'ın verdiği anahtarı yapıştırın.");
  await page.fill("#s-label", "Mağaza botu");
  await page.fill("#s-token", SHOP_BOT);
  await snap(page, "app-connect-bot-tr");
  await tutorial.say("Press Connect. The bot signs in to Telegram.", "Bağla'ya basın. Bot Telegram'a giriş yapar.");
  await page.click("form[action$='/sessions'] button[type=submit]");
  await page.waitForURL(/\/sessions(\?|$)/);
  let online = false;
  for (let i = 0; i < 60 && !online; i++) {
    online = await page.isVisible("td >> text=çevrimiçi");
    if (!online) { await page.waitForTimeout(500); await page.reload(); }
  }
  check(online, "the connected bot comes online");
  await tutorial.say("Online. Its groups are listed under Groups.", "Çevrimiçi. Grupları Gruplar altında listelenir.");
  await snap(page, "app-bot-connected-tr");
  let listed = false;
  for (let i = 0; i < 60 && !listed; i++) {
    await page.goto(`${tenantUrl}/groups`);
    listed = await page.isVisible("text=Nişantaşı Esnafı");
    if (!listed) { await page.waitForTimeout(500); }
  }
  check(listed, "the bot's group is listed");
  await tutorial.say("Turn on the groups campaigns may post to. Next: write a template.",
    "Kampanyaların gönderi yapabileceği grupları açın. Sıradaki adım: bir şablon yazın.");
  await snap(page, "app-bot-groups-tr");
  await tutorial.stop();

  // ---- a support request with a screenshot ----
  await page.goto(`${tenantUrl}/more`);
  check(await page.isVisible("a >> text=Destek"), "More leads to Support");
  // A screen that fails offers support, which learns where it happened.
  await page.goto(`${tenantUrl}/campaigns/999999`);
  await page.click("a >> text=Destek isteyin");
  await page.waitForURL(/\/support\?from=/);
  await page.fill("#s-subject", "Grubum listede yok");
  await page.fill("#s-body", "Botu Moda Esnafı grubuna ekledim ama Gruplar'da görünmüyor.");
  await page.setInputFiles("#s-file", { name: "ekran.png", mimeType: "image/png", buffer: PNG });
  await snap(page, "app-support-new-tr");
  await press(page, "main_button_pressed");
  await page.waitForURL(/\/support\/\d+\?done=opened/);
  check(await page.isVisible("text=ekran.png"), "the attachment is listed with the message");
  check(await page.isVisible("text=Açık"), "the request is open");
  const threadUrl = page.url().split("?")[0];
  await snap(page, "app-support-thread-tr");

  // ---- feedback ----
  await page.goto(`${tenantUrl}/more`);
  await page.click("a >> text=Geri bildirim gönderin");
  await page.fill("#f-body", "Kampanya takvimini haftalık görmek isterim.");
  await press(page, "main_button_pressed");
  await page.waitForURL(/feedback\?done=feedback/);
  check(await page.isVisible("text=Teşekkürler"), "feedback is thanked");
  await snap(page, "app-feedback-sent-tr");

  // ---- the reseller, on a desktop, in English ----
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  const admin = await desk.newPage();
  admin.on("pageerror", (e) => check(false, `no script error: ${e.message}`));
  await admin.goto(`${BASE}/console/login`);
  await admin.fill("#email", ADMIN_EMAIL);
  await admin.fill("#password", ADMIN_PASSWORD);
  await admin.click("form[action='/console/login'] button[type=submit]");
  await admin.waitForURL(`${BASE}/console`);
  await admin.click("nav >> text=Sign-ups");
  check(await admin.isVisible("td >> text=Nişantaşı Butik"), "the sign-up is listed");
  check(await admin.isVisible("td >> text=1 / 20"), "the invite code counts its use");
  await snap(admin, "console-signups");
  await admin.click("nav >> text=Support");
  check(await admin.isVisible("a >> text=Grubum listede yok"), "the request waits in the inbox");
  await snap(admin, "console-support-inbox");
  await admin.click("a >> text=Grubum listede yok");
  check(await admin.isVisible("text=/screen: \\/app\\/tenants\\/\\d+\\/campaigns\\/999999/"), "the tenant's context shows the screen it came from");
  await admin.fill("#r-body", "Grup listesini yenileyin: Gruplar → Yenile. Bot yönetici değilse gruba yönetici olarak ekleyin.");
  await snap(admin, "console-support-thread");
  await admin.click("form[action$='/messages'] button[type=submit]");
  await admin.waitForURL(/\?done=sent/);
  check(await admin.isVisible("text=Waiting for you"), "an answer hands the turn to the tenant");
  await admin.goto(`${BASE}/console/support?show=feedback`);
  check(await admin.isVisible("td >> text=Nişantaşı Butik"), "the feedback is in the inbox");

  // ---- the reseller's pages in Turkish, dark ----
  const deskTr = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "tr-TR",
    colorScheme: "dark", extraHTTPHeaders: { "accept-language": "tr" } });
  const adminTr = await deskTr.newPage();
  await adminTr.goto(`${BASE}/console/login`);
  await adminTr.fill("#email", ADMIN_EMAIL);
  await adminTr.fill("#password", ADMIN_PASSWORD);
  await adminTr.click("form[action='/console/login'] button[type=submit]");
  await adminTr.waitForURL(`${BASE}/console`);
  await adminTr.goto(`${BASE}/console/signups`);
  check(await adminTr.isVisible("h1 >> text=Kaydolanlar"), "the Sign-ups page in Turkish");
  await snap(adminTr, "console-signups-tr");

  // ---- the form in English, for someone whose Telegram is in English ----
  const ctxEn = await browser.newContext({ ...phone, locale: "en-US" });
  await ctxEn.addInitScript(bridge);
  const en = await ctxEn.newPage();
  await en.goto(launch(INIT_DATA_EN, LIGHT));
  await en.waitForSelector("form[action='/app/signup']", { timeout: 15000 });
  check(await en.isVisible("h1 >> text=Start your free trial"), "the sign-up form in English");
  await snap(en, "app-signup-form-en");

  // ---- the answer, back in the app ----
  await page.goto(threadUrl);
  check(await page.isVisible("text=Gruplar → Yenile"), "the tenant reads the answer");
  check(await page.isVisible("text=Yanıtınız bekleniyor"), "the request waits for the tenant");
  await snap(page, "app-support-answered-tr");
  // The same thread in English (More → language).
  await page.goto(`${tenantUrl}/more`);
  await page.click("button[name=language][value=en]");
  await page.goto(threadUrl);
  check(await page.isVisible("text=Waiting for you"), "the thread in English");
  await snap(page, "app-support-answered-en");
} finally {
  await browser.close();
}
finish();
