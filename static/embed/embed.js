/* The chat on a shop's own pages: <script src="https://<chat host>/static/embed/embed.js"
 * data-site="<site key>" data-product="<catalog id>" async></script>
 *
 * Adds one launcher button and nothing else until it is pressed; then opens the chat, which
 * the chat server renders, in an iframe, with the product of this page (data-product, else
 * this page's address as the catalog knows it) in focus. When the browser blocks the frame's
 * cookies the frame says so and offers the same chat in a tab of its own.
 * Optional: data-lang ("he" or "en"), data-label, data-color, data-text-color.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__hscjitEmbed) return;
  window.__hscjitEmbed = true;
  var data = script.dataset;
  var origin = new URL(script.src, location.href).origin;
  var hebrew = (data.lang || document.documentElement.lang || "").slice(0, 2) === "he";
  var labels = hebrew
    ? { open: "שאלו על המוצר", close: "סגירת הצ'אט", title: "צ'אט תמיכה" }
    : { open: "Ask about this product", close: "Close the chat", title: "Support chat" };
  var accent = /^#[0-9a-f]{6}$/i.test(data.color || "") ? data.color : "#0b5cad";
  var ink = /^#[0-9a-f]{6}$/i.test(data.textColor || "") ? data.textColor : "#ffffff";
  var side = hebrew ? "left" : "right";  // the launcher sits at the end of the reading line

  function style(node, rules) {
    Object.keys(rules).forEach(function (name) { node.style.setProperty(name, rules[name]); });
  }

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = data.label || labels.open;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("data-hscjit", "launcher");
  style(button, {
    position: "fixed", bottom: "20px", "z-index": "2147483000", padding: "12px 18px",
    border: "0", "border-radius": "999px", background: accent, color: ink, cursor: "pointer",
    font: "600 15px/1.2 system-ui, sans-serif", "box-shadow": "0 4px 14px rgba(0,0,0,.25)",
  });
  button.style.setProperty(side, "20px");

  var panel = null;

  function chatUrl() {
    var query = new URLSearchParams({ site: data.site || "", url: location.href.slice(0, 1000) });
    if (data.product) query.set("product", data.product);
    if (data.lang) query.set("lang", data.lang);
    return origin + "/embed/start?" + query.toString();
  }

  function open() {
    if (panel) { panel.hidden = false; button.setAttribute("aria-expanded", "true"); return; }
    panel = document.createElement("div");
    panel.setAttribute("data-hscjit", "panel");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", labels.title);
    style(panel, {
      position: "fixed", bottom: "80px", width: "min(400px, calc(100vw - 24px))",
      height: "min(640px, calc(100vh - 100px))", "z-index": "2147483000", background: "#fff",
      "border-radius": "14px", overflow: "hidden", "box-shadow": "0 10px 40px rgba(0,0,0,.3)",
    });
    panel.style.setProperty(side, "12px");
    // A bar of its own above the frame, so the close button never covers the chat's header.
    var bar = document.createElement("div");
    bar.dir = hebrew ? "rtl" : "ltr";
    style(bar, {
      display: "flex", "align-items": "center", "justify-content": "space-between",
      height: "40px", "box-sizing": "border-box", "padding-inline": "14px 4px",
      background: accent, color: ink,
      font: "600 14px/1.2 system-ui, sans-serif",
    });
    var title = document.createElement("span");
    title.textContent = labels.title;
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", labels.close);
    style(close, {
      width: "32px", height: "32px", border: "0", "border-radius": "50%", color: ink,
      background: "transparent", cursor: "pointer", font: "22px/1 system-ui, sans-serif",
    });
    close.addEventListener("click", function () {
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      button.focus();
    });
    var frame = document.createElement("iframe");
    frame.title = labels.title;
    frame.src = chatUrl();
    frame.allow = "clipboard-write";
    style(frame, { display: "block", border: "0", width: "100%", height: "calc(100% - 40px)" });
    bar.appendChild(title);
    bar.appendChild(close);
    panel.appendChild(bar);
    panel.appendChild(frame);
    document.body.appendChild(panel);
    button.setAttribute("aria-expanded", "true");
  }

  button.addEventListener("click", function () {
    if (panel && !panel.hidden) { panel.hidden = true; button.setAttribute("aria-expanded", "false"); }
    else open();
  });
  function mount() { document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
