/* The staff console (docs/protocol.md, "Staff console"). No build step, no dependencies.
 *
 * The server is the truth: every (re)connect starts with `hello`, the whole queue from the
 * database, and the open conversation is fetched again. Replies carry a client key and are
 * resent after a reconnect until the server confirms them; it stores each key once.
 * Everything from the server goes into the page as text.
 */
(function () {
  "use strict";

  var body = document.body;
  var wsPath = body.dataset.wsPath;
  if (!wsPath || !("WebSocket" in window)) return;

  var BACKOFF_BASE_MS = 500;
  var BACKOFF_CAP_MS = 10000;
  var TYPING_EVERY_MS = 2000;
  var TYPING_IDLE_MS = 3000;
  var STATE_LABELS = {
    answered: "From the manual", not_in_manual: "Not in the manual", no_manual: "No manual",
    no_product: "Product unknown", handed_off: "Handed to a person",
  };
  var OPEN = ["waiting", "active", "follow_up"];
  var ENDED = { resolved: "closed", returned: "handed back to the bot", cancelled: "cancelled by the customer" };
  var REASONS = {
    asked: "asked for a person", not_in_manual: "not in the manual", no_manual: "no manual",
    thumbs_down: "thumbs down", unanswered: "two unanswered questions",
  };

  function byId(id) { return document.getElementById(id); }
  var ui = {
    status: byId("console-status"), agents: byId("agents-online"), notify: byId("notify-toggle"),
    lists: { waiting: byId("queue"), follow_up: byId("followups"), active: byId("active") },
    counts: { waiting: byId("waiting-count"), follow_up: byId("followup-count"), active: byId("active-count") },
    empty: byId("no-conversation"), pane: byId("conversation"), meta: byId("conversation-meta"),
    claim: byId("claim-button"), release: byId("release-button"),
    requeue: byId("requeue-button"), close: byId("close-button"),
    error: byId("conversation-error"), transcript: byId("transcript"),
    replyForm: byId("reply-form"), replyText: byId("reply-text"), replyStatus: byId("reply-status"),
    noteBox: byId("note-box"), noteForm: byId("note-form"), noteText: byId("note-text"),
    noteLanguage: byId("note-language"), noteManual: byId("note-manual"), notePage: byId("note-page"),
    noteStatus: byId("note-status"),
    itemTemplate: byId("queue-item-template"), lineTemplate: byId("line-template"),
  };
  var TITLE = document.title;

  var socket = null;
  var attempts = 0;
  var refCounter = 0;
  var me = null;                 // {id, name}
  var items = {};                // handoff id -> queue item
  var seen = {};                 // handoff ids already announced
  var greeted = false;
  var current = null;            // the open handoff id
  var shown = {};                // message ids in the transcript
  var pendingReplies = {};       // client key -> {handoff_id, text}
  var lastTyping = 0;
  var typingTimer = null;
  var unread = 0;

  function nextRef(prefix) { refCounter += 1; return prefix + refCounter; }
  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }
  function setText(root, selector, text) {
    var node = root.querySelector(selector);
    if (node) node.textContent = text == null ? "" : String(text);
    return node;
  }
  function safeUrl(value) {
    var url = String(value || "").trim();
    if (url.charAt(0) === "/" && url.charAt(1) !== "/") return url;
    if (/^https?:\/\//i.test(url)) return url;
    return "";
  }
  function minutes(seconds) {
    var m = Math.floor(seconds / 60);
    return m < 1 ? "under a minute" : m + " min";
  }

  // ----- The queue ------------------------------------------------------------------------

  function render() {
    Object.keys(ui.lists).forEach(function (status) {
      ui.lists[status].textContent = "";
    });
    var counts = { waiting: 0, follow_up: 0, active: 0 };
    Object.keys(items)
      .map(function (id) { return items[id]; })
      .sort(function (a, b) { return a.requested_at < b.requested_at ? -1 : 1; })
      .forEach(function (item) {
        var list = ui.lists[item.status];
        if (!list) return;
        counts[item.status] += 1;
        list.appendChild(queueNode(item));
      });
    Object.keys(counts).forEach(function (status) { ui.counts[status].textContent = String(counts[status]); });
    document.title = (unread ? "(" + unread + ") " : "") + (counts.waiting ? counts.waiting + " waiting · " : "") + TITLE;
  }

  function queueNode(item) {
    var node = ui.itemTemplate.content.firstElementChild.cloneNode(true);
    var button = node.querySelector("button");
    setText(button, ".queue-product", item.product ? item.product.name : "No product yet");
    setText(button, ".queue-lang", (item.language || "?").toUpperCase() + " · " + (REASONS[item.reason] || item.reason));
    var waited = item.status === "waiting"
      ? (Date.now() - Date.parse(item.requested_at)) / 1000 : item.wait_seconds;
    setText(button, ".queue-wait", item.status === "follow_up"
      ? (item.contact ? "Contact: " + item.contact : "No contact left yet")
      : "Waited " + minutes(waited));
    setText(button, ".queue-agent", item.agent ? "With " + item.agent.name : "");
    var last = item.last_answer ? "Bot: " + item.last_answer.text : (item.last_question ? "Asked: " + item.last_question : "");
    setText(button, ".queue-last", last);
    node.dataset.id = String(item.id);
    if (item.id === current) node.classList.add("is-current");
    if (!seen[item.id] && item.status === "waiting") node.classList.add("is-new");
    button.addEventListener("click", function () { openConversation(item.id); });
    return node;
  }

  function upsert(item) {
    var open = OPEN.indexOf(item.status) >= 0;
    var isNew = open && item.status === "waiting" && !items[item.id];
    if (open) items[item.id] = item; else delete items[item.id];
    if (isNew && greeted) announce(item);
    if (item.id === current) showHead(item);
    render();
  }

  // ----- Notifications ----------------------------------------------------------------------

  function announce(item) {
    if (!document.hasFocus()) unread += 1;
    beep();
    if (ui.notify.checked && "Notification" in window && Notification.permission === "granted") {
      var note = new Notification("A customer is waiting", {
        body: (item.product ? item.product.name + ": " : "") + (item.last_question || ""),
        tag: "handoff-" + item.id,
      });
      note.addEventListener("click", function () { window.focus(); openConversation(item.id); });
    }
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      var context = new Context();
      var tone = context.createOscillator();
      var gain = context.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.05;
      tone.connect(gain);
      gain.connect(context.destination);
      tone.start();
      tone.stop(context.currentTime + 0.15);
      tone.addEventListener("ended", function () { context.close(); });
    } catch (e) { /* no sound is no reason to miss the visual cue */ }
  }

  ui.notify.addEventListener("change", function () {
    if (ui.notify.checked && "Notification" in window && Notification.permission === "default") {
      Notification.requestPermission();
    }
  });
  window.addEventListener("focus", function () { unread = 0; render(); });

  // ----- The conversation --------------------------------------------------------------------

  function openConversation(id) {
    current = id;
    seen[id] = true;
    ui.error.hidden = true;
    send({ type: "open", ref: nextRef("o"), handoff_id: id });
    render();
  }

  function showHead(item) {
    var parts = [
      item.product ? item.product.name : "No product",
      (item.language || "?").toUpperCase(),
      REASONS[item.reason] || item.reason,
    ];
    if (item.contact) parts.push(item.contact_kind + ": " + item.contact);
    var open = OPEN.indexOf(item.status) >= 0;
    // An ended conversation stays on screen to read, with nothing left to do on it.
    if (!open) parts.push(ENDED[item.status] || item.status);
    else if (item.agent) parts.push("with " + item.agent.name);
    ui.meta.textContent = parts.join(" · ");
    var mine = open && item.agent && me && item.agent.id === me.id;
    ui.claim.hidden = !open || item.status === "active";
    ui.release.hidden = !mine;
    ui.requeue.hidden = !mine;
    ui.close.hidden = !open || (item.status === "active" && !mine);
    ui.replyForm.hidden = !mine;
    ui.noteBox.hidden = !item.product;
  }

  function showConversation(data) {
    ui.empty.hidden = true;
    ui.pane.hidden = false;
    ui.transcript.textContent = "";
    shown = {};
    items[data.handoff.id] = items[data.handoff.id] || data.handoff;
    showHead(data.handoff);
    (data.messages || []).forEach(addLine);
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  function addLine(message) {
    if (shown[message.id]) return;
    shown[message.id] = true;
    var node = ui.lineTemplate.content.firstElementChild.cloneNode(true);
    node.classList.add("line-" + message.role);
    var author = message.role === "question" ? "Customer"
      : message.role === "agent" ? (message.author || "Agent")
      : "Bot" + (message.state ? " · " + (STATE_LABELS[message.state] || message.state) : "");
    setText(node, ".line-author", author);
    setText(node, ".line-text", message.text);
    var sources = node.querySelector(".line-sources");
    (message.citations || []).forEach(function (c) {
      var li = document.createElement("li");
      var url = safeUrl(c.url);
      if (url) {
        var link = document.createElement("a");
        link.href = url;
        // One named window: each cited page opens beside the console, replacing the last.
        link.target = "manual-viewer";
        link.rel = "noopener";
        link.textContent = c.kind === "staff_note" ? "Shop note" : "p. " + c.page;
        li.appendChild(link);
      } else {
        li.appendChild(document.createTextNode(c.kind === "staff_note" ? "Shop note" : "p. " + c.page));
      }
      li.appendChild(document.createTextNode(" " + (c.snippet || "")));
      sources.appendChild(li);
    });
    if (message.role === "agent") {
      var keep = document.createElement("button");
      keep.type = "button";
      keep.className = "button button-small";
      keep.textContent = "Save as note";
      keep.addEventListener("click", function () {
        ui.noteText.value = message.text;
        ui.noteBox.open = true;
        ui.noteText.focus();
      });
      node.appendChild(keep);
    }
    node.dataset.messageId = String(message.id);
    ui.transcript.appendChild(node);
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  function fail(message) {
    ui.error.textContent = message;
    ui.error.hidden = false;
  }

  function act(type) {
    if (current === null) return;
    ui.error.hidden = true;
    send({ type: type, ref: nextRef(type.charAt(0)), handoff_id: current });
  }
  ui.claim.addEventListener("click", function () { act("claim"); });
  ui.release.addEventListener("click", function () { act("release"); });
  ui.requeue.addEventListener("click", function () { act("requeue"); });
  ui.close.addEventListener("click", function () { act("close"); });

  ui.replyForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = ui.replyText.value.trim();
    if (!text || current === null) return;
    var key = (me ? me.id : "a") + "-" + Date.now().toString(36) + "-" + nextRef("k");
    pendingReplies[key] = { handoff_id: current, text: text };
    ui.replyText.value = "";
    ui.replyStatus.textContent = "Sending…";
    sendTyping(false);
    sendReply(key);
  });

  function sendReply(key) {
    var pending = pendingReplies[key];
    send({ type: "reply", ref: nextRef("r"), handoff_id: pending.handoff_id, text: pending.text, client_key: key });
  }

  function sendTyping(active) {
    if (current === null) return;
    clearTimeout(typingTimer);
    send({ type: "typing", handoff_id: current, typing: active });
    lastTyping = active ? Date.now() : 0;
  }
  ui.replyText.addEventListener("input", function () {
    if (Date.now() - lastTyping > TYPING_EVERY_MS) sendTyping(true);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { sendTyping(false); }, TYPING_IDLE_MS);
  });
  ui.replyText.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.replyForm.requestSubmit();
    }
  });

  ui.noteForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (current === null) return;
    var scope = ui.noteForm.querySelector('input[name="scope"]:checked');
    var message = {
      type: "save_note", ref: nextRef("n"), handoff_id: current, text: ui.noteText.value,
      scope: scope ? scope.value : "product", language: ui.noteLanguage.value,
    };
    if (ui.noteManual.value) message.manual_id = Number(ui.noteManual.value);
    if (ui.notePage.value) message.page = Number(ui.notePage.value);
    ui.noteStatus.textContent = "Saving…";
    send(message);
  });

  // ----- Messages from the server --------------------------------------------------------------

  function onMessage(event) {
    var msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    switch (msg.type) {
      case "hello":
        me = msg.agent;
        items = {};
        (msg.queue || []).forEach(function (item) {
          // Only customers who arrive while the console is open are announced.
          if (!greeted) seen[item.id] = true;
          items[item.id] = item;
        });
        greeted = true;
        showAgents(msg.agents_online);
        render();
        if (current !== null) openConversation(current);
        Object.keys(pendingReplies).forEach(sendReply);
        break;
      case "queue_item":
        upsert(msg.item);
        break;
      case "agents_online":
        showAgents(msg.count);
        break;
      case "conversation":
        if (msg.handoff && msg.handoff.id === current) showConversation(msg);
        break;
      case "messages":
        if (current !== null && items[current] && items[current].session_id === msg.session_id) {
          (msg.messages || []).forEach(addLine);
        }
        break;
      case "reply_saved":
        delete pendingReplies[msg.client_key];
        if (current !== null && items[current] && msg.message) addLine(msg.message);
        ui.replyStatus.textContent = Object.keys(pendingReplies).length ? "Sending…" : "Sent";
        break;
      case "note_saved":
        ui.noteStatus.textContent = "Saved: waiting for review in the admin.";
        ui.noteText.value = "";
        break;
      case "error":
        onError(msg);
        break;
    }
  }

  function onError(msg) {
    if (msg.ref && msg.ref.charAt(0) === "r") {
      // A reply the server refused (not claimed, too long): give the text back.
      Object.keys(pendingReplies).forEach(function (key) {
        if (!ui.replyText.value) ui.replyText.value = pendingReplies[key].text;
        delete pendingReplies[key];
      });
      ui.replyStatus.textContent = msg.message;
    } else if (msg.ref && msg.ref.charAt(0) === "n") {
      ui.noteStatus.textContent = msg.message;
    } else {
      fail(msg.message);
    }
  }

  function showAgents(count) {
    ui.agents.textContent = count === 1 ? "1 agent online" : count + " agents online";
  }

  // ----- Connection -----------------------------------------------------------------------------

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + wsPath);
    socket.addEventListener("open", function () {
      attempts = 0;
      ui.status.textContent = "Live";
      ui.status.classList.remove("is-bad");
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function (event) {
      socket = null;
      ui.status.classList.add("is-bad");
      if (event.code === 4403) {
        ui.status.textContent = "You are not a support agent, or your login expired. Log in again.";
        return;
      }
      ui.status.textContent = "Connection lost. Reconnecting…";
      var delay = Math.round(250 + Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, attempts)));
      attempts += 1;
      setTimeout(connect, delay);
    });
  }

  setInterval(render, 15000);  // wait times move on
  setInterval(function () { send({ type: "ping", ref: nextRef("p") }); }, 25000);
  connect();
})();
