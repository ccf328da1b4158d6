/* Live support on the chat page (docs/protocol.md, version 1.1): ask for a person, see where
 * the request stands, leave an email or phone number when no one can answer live, read an
 * agent's replies and their typing as they happen.
 *
 * It builds on chat.js (window.hscChat): the same socket, the same message list. A reply
 * missed while the socket was down comes back with chat.js's catch-up after the reconnect,
 * and is shown once (messages carry their ids). Sentences come from the server (already in
 * the chat's language) or from the page's templates.
 */
(function () {
  "use strict";

  var chat = window.hscChat;
  if (!chat) return;

  var TYPING_SHOWN_MS = 6000;
  var OPEN = ["waiting", "active", "follow_up"];

  function byId(id) { return document.getElementById(id); }
  var ui = {
    box: byId("handoff"),
    offer: byId("handoff-offer"),
    button: byId("handoff-button"),
    panel: byId("handoff-panel"),
    text: byId("handoff-text"),
    form: byId("handoff-contact"),
    contact: byId("handoff-contact-value"),
    question: byId("handoff-contact-text"),
    error: byId("handoff-contact-error"),
    cancel: byId("handoff-cancel"),
    typing: byId("agent-typing"),
    template: byId("agent-template"),
    list: byId("messages"),
  };
  if (!ui.box || !ui.template) return;

  var state = null;       // the last handoff_state
  var typingTimer = null;
  var contactRef = null;

  ui.box.hidden = false;

  // The answer to a typed request for a person already says where it stands, just above.
  function saidAbove(text) {
    var last = ui.list.lastElementChild;
    return !!text && !!last && last.dataset.state === "handed_off" &&
      last.querySelector(".msg-text").textContent.trim() === text.trim();
  }

  // What changes here, below the conversation, is scrolled into view: on a phone the question
  // form, fixed to the bottom of the screen, would cover it. Not while the customer reads
  // further up: only when the conversation's last message is in view.
  function bringIntoView(element) {
    var last = ui.list.lastElementChild;
    if (!last || chat.inView(last)) element.scrollIntoView({ block: "nearest" });
  }

  function show(message) {
    var changed = state !== null && state.state !== message.state;
    state = message;
    var open = OPEN.indexOf(message.state) >= 0;
    ui.offer.hidden = true;
    ui.panel.hidden = !open && !message.text;
    ui.text.textContent = message.text || "";
    ui.text.hidden = saidAbove(message.text);
    ui.button.hidden = open;
    ui.form.hidden = !(message.state === "follow_up" || message.state === "waiting") || message.contact_saved;
    ui.cancel.hidden = !(message.state === "waiting" || (message.state === "follow_up" && !message.contact_saved));
    if (message.state !== "active") hideTyping();
    if (message.needs_contact) ui.contact.focus();
    else if ((changed || message.ref) && !ui.panel.hidden) bringIntoView(ui.panel);
  }

  function offer(message) {
    if (state && OPEN.indexOf(state.state) >= 0) return;
    ui.offer.textContent = message.text || "";
    ui.offer.dataset.reason = message.reason || "asked";
    ui.offer.hidden = !message.text;
    ui.button.hidden = false;
    if (!ui.offer.hidden) bringIntoView(ui.button);
  }

  function renderAgent(message) {
    if (message.id && document.querySelector('[data-message-id="' + message.id + '"]')) return;
    var item = ui.template.content.firstElementChild.cloneNode(true);
    item.querySelector(".msg-agent-name").textContent = message.author || "";
    var team = item.querySelector(".msg-agent-team");
    if (message.author) team.textContent = team.dataset.named;
    item.querySelector(".msg-text").textContent = message.text || "";
    if (message.id) {
      item.id = "message-" + message.id;
      item.dataset.messageId = String(message.id);
    }
    chat.appendMessage(item);
  }

  function showTyping(message) {
    clearTimeout(typingTimer);
    if (!message.typing) { hideTyping(); return; }
    ui.typing.textContent = message.agent
      ? (ui.typing.dataset.label || "{name}").replace("{name}", message.agent)
      : ui.typing.dataset.unnamed;
    ui.typing.hidden = false;
    // A lost "stopped typing" must not leave the indicator on for good.
    typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    ui.typing.hidden = true;
  }

  chat.renderAgent = renderAgent;
  chat.onMessage(function (message) {
    switch (message.type) {
      case "handoff_state":
        show(message);
        break;
      case "handoff_offer":
        offer(message);
        break;
      case "answer_end":
        // An offer made after an unanswered question is stale once a later one is answered.
        if (message.state === "answered") ui.offer.hidden = true;
        // The state may come before the answer that repeats it; chat.js fills that in next.
        if (message.state === "handed_off" && state) {
          setTimeout(function () { ui.text.hidden = saidAbove(state.text); }, 0);
        }
        break;
      case "agent_message":
        hideTyping();
        renderAgent(message);
        break;
      case "agent_typing":
        showTyping(message);
        break;
      case "error":
        if (contactRef !== null && message.ref === contactRef) {
          ui.error.textContent = message.message || "";
          ui.error.hidden = false;
          contactRef = null;
        }
        break;
    }
  });

  ui.button.addEventListener("click", function () {
    var reason = ui.offer.hidden ? "asked" : (ui.offer.dataset.reason || "asked");
    chat.send({ type: "handoff_request", ref: chat.nextRef("h"), reason: reason,
                lang: document.body.dataset.lang || undefined });
  });

  ui.cancel.addEventListener("click", function () {
    chat.send({ type: "handoff_cancel", ref: chat.nextRef("h") });
  });

  ui.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var contact = ui.contact.value.trim();
    if (!contact) {
      ui.error.textContent = ui.form.dataset.empty || "";
      ui.error.hidden = !ui.error.textContent;
      ui.contact.focus();
      return;
    }
    ui.error.hidden = true;
    contactRef = chat.nextRef("c");
    // What the customer typed stays in the form until the server confirms it.
    if (!chat.send({ type: "contact", ref: contactRef, contact: contact, text: ui.question.value.slice(0, 4000) })) {
      ui.error.textContent = ui.form.dataset.offline || "";
      ui.error.hidden = !ui.error.textContent;
      contactRef = null;
    }
  });

  chat.onMessage(function (message) {
    if (message.type === "handoff_state" && contactRef !== null && message.ref === contactRef) {
      contactRef = null;
      ui.contact.value = "";
      ui.question.value = "";
    }
  });
})();
