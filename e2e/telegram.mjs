// How Telegram shows and opens a Mini-App, for the browser runs that play Telegram's part:
// its theme colours, the launch parameters in the URL's hash, and a stub of its WebView bridge
// that records what the page asks of the Telegram app (across the app's pages, in
// sessionStorage) and answers a popup "OK" as a person would.

export const LIGHT = { bg_color: "#ffffff", text_color: "#000000", hint_color: "#707579", link_color: "#3390ec",
  button_color: "#3390ec", button_text_color: "#ffffff", secondary_bg_color: "#f4f4f5",
  section_bg_color: "#ffffff", destructive_text_color: "#e53935", section_separator_color: "#e7e7e7" };
export const DARK = { bg_color: "#212121", text_color: "#ffffff", hint_color: "#aaaaaa", link_color: "#8774e1",
  button_color: "#8774e1", button_text_color: "#ffffff", secondary_bg_color: "#0f0f0f",
  section_bg_color: "#212121", destructive_text_color: "#ff595a", section_separator_color: "#3d3d3d" };

export const launchUrl = (base, data, theme) => `${base}/app#tgWebAppData=${encodeURIComponent(data)}` +
  `&tgWebAppVersion=8.0&tgWebAppPlatform=android&tgWebAppThemeParams=${encodeURIComponent(JSON.stringify(theme))}`;

// Runs in the page (context.addInitScript): it cannot use anything from this module.
export const bridge = () => {
  const keep = (type, data) => {
    const all = JSON.parse(sessionStorage.getItem("tgEvents") || "[]");
    all.push([type, data ? JSON.parse(data) : null]);
    sessionStorage.setItem("tgEvents", JSON.stringify(all));
  };
  window.TelegramWebviewProxy = {
    postEvent(type, data) {
      keep(type, data);
      if (type === "web_app_open_popup") {
        setTimeout(() => window.Telegram.WebView.receiveEvent("popup_closed", { button_id: "ok" }), 50);
      }
    },
  };
};
export const events = (page) => page.evaluate(() => JSON.parse(sessionStorage.getItem("tgEvents") || "[]"));
export const clearEvents = (page) => page.evaluate(() => sessionStorage.setItem("tgEvents", "[]"));
export const last = (all, type) => all.filter((e) => e[0] === type).pop();
// Telegram telling the page a button of its own was pressed (`main_button_pressed` …).
export const press = (page, event) => page.evaluate((e) => window.Telegram.WebView.receiveEvent(e, {}), event);
