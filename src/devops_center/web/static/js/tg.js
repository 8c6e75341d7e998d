/* The support hub inside Telegram (a Mini App), without Telegram's script.
 *
 * Telegram opens /tg/app with its data in the address's fragment (#tgWebAppData=…&
 * tgWebAppThemeParams=…); when the page is given Telegram's telegram-web-app.js,
 * window.Telegram.WebApp has the same. This file:
 *  - paints the pages in Telegram's colours (--tg-theme-* variables, light or dark),
 *    kept for the next pages of the visit in sessionStorage;
 *  - tells Telegram the app is ready and may take the whole height;
 *  - on /tg/app, signs in: POST /tg/auth {"init_data": …} → the hub, or the reason.
 */
(function () {
  "use strict";
  var THEME_KEY = "dcc-tg-theme";
  var root = document.documentElement;
  var webApp = window.Telegram && window.Telegram.WebApp;

  function fragment() {
    try { return new URLSearchParams(window.location.hash.slice(1)); }
    catch (e) { return new URLSearchParams(""); }
  }

  function postEvent(type, data) {
    var body = data || {};
    try {
      if (window.TelegramWebviewProxy && window.TelegramWebviewProxy.postEvent) {
        window.TelegramWebviewProxy.postEvent(type, JSON.stringify(body));
      } else if (window.parent && window.parent !== window) {
        window.parent.postMessage(JSON.stringify({ eventType: type, eventData: body }), "*");
      }
    } catch (e) { /* outside Telegram: nothing to tell */ }
  }

  function isDark(hex) {
    var m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
    if (!m) return null;
    var r = parseInt(m[1], 16), g = parseInt(m[2], 16), b = parseInt(m[3], 16);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 < 0.5;
  }

  function applyTheme(theme) {
    if (!theme || typeof theme !== "object") return false;
    var any = false;
    Object.keys(theme).forEach(function (key) {
      var value = theme[key];
      if (typeof value === "string" && /^#[0-9a-f]{3,8}$/i.test(value) && /^[a-z_]+$/.test(key)) {
        root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
        any = true;
      }
    });
    if (!any) return false;
    var dark = isDark(theme.bg_color);
    if (dark !== null) root.setAttribute("data-theme", dark ? "dark" : "light");
    root.classList.add("tg-themed");
    return true;
  }

  function initialTheme() {
    if (webApp && webApp.themeParams && Object.keys(webApp.themeParams).length) {
      return webApp.themeParams;
    }
    var raw = fragment().get("tgWebAppThemeParams");
    if (raw) {
      try { return JSON.parse(raw); } catch (e) { /* ignored */ }
    }
    try { return JSON.parse(window.sessionStorage.getItem(THEME_KEY) || "null"); }
    catch (e) { return null; }
  }

  function remember(theme) {
    try { window.sessionStorage.setItem(THEME_KEY, JSON.stringify(theme)); } catch (e) { /* private mode */ }
  }

  var theme = initialTheme();
  if (applyTheme(theme)) remember(theme);

  // Theme changes while open: Telegram calls Telegram.WebView.receiveEvent (mobile) or
  // posts a message (web); with Telegram's script, its themeChanged event.
  function onTelegramEvent(type, data) {
    if (type === "theme_changed" && data && applyTheme(data.theme_params)) remember(data.theme_params);
  }
  window.Telegram = window.Telegram || {};
  if (!window.Telegram.WebView) window.Telegram.WebView = { receiveEvent: onTelegramEvent };
  window.addEventListener("message", function (event) {
    try {
      var msg = typeof event.data === "string" ? JSON.parse(event.data) : event.data;
      if (msg && msg.eventType) onTelegramEvent(msg.eventType, msg.eventData);
    } catch (e) { /* not ours */ }
  });
  if (webApp && webApp.onEvent) {
    webApp.onEvent("themeChanged", function () {
      if (applyTheme(webApp.themeParams)) remember(webApp.themeParams);
    });
  }

  function ready() {
    if (webApp && webApp.ready) {
      webApp.ready();
      if (webApp.expand) webApp.expand();
    } else {
      postEvent("web_app_ready");
      postEvent("web_app_expand");
    }
  }

  function initData() {
    if (webApp && webApp.initData) return webApp.initData;
    return fragment().get("tgWebAppData") || "";
  }

  function show(id, text) {
    var el = document.getElementById(id);
    if (!el) return;
    if (typeof text === "string") el.textContent = text;
    el.hidden = false;
  }

  function signIn(box) {
    var status = document.getElementById("tg-status");
    var data = initData();
    if (!data) {
      if (status) status.hidden = true;
      show("tg-outside");
      return;
    }
    var meta = document.querySelector('meta[name="csrf-token"]');
    window.fetch("/tg/auth", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "content-type": "application/json",
        "accept": "application/json",
        "x-csrftoken": meta ? meta.getAttribute("content") : ""
      },
      body: JSON.stringify({ init_data: data })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) {
          window.location.replace(body.next || box.getAttribute("data-next") || "/support");
          return;
        }
        if (status) status.hidden = true;
        show("tg-error", body.detail || String(response.status));
        show("tg-retry");
      });
    }).catch(function () {
      if (status) status.hidden = true;
      show("tg-error", status ? status.getAttribute("data-offline") || "…" : "…");
      show("tg-retry");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    ready();
    var box = document.getElementById("tg-signin");
    if (box) signIn(box);
  });
})();
