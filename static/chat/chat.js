/* The chat page's script (PROTOCOL.md, version 1). No build step, no dependencies.
 *
 * Everything that comes from the server is put into the page as text (textContent, text
 * nodes, attributes); markup comes only from the <template> elements the server rendered.
 * Without this script the page still works: the forms post over HTTP.
 */
(function () {
  "use strict";

  var body = document.body;
  var wsPath = body.dataset.wsPath;
  var messagesUrl = body.dataset.messagesUrl;
  if (!wsPath || !messagesUrl || !("WebSocket" in window) || !("fetch" in window)) return;

  // The page's language and its sentences (apps/sessions/texts.py), looked up by their English.
  var LANG = body.dataset.lang || document.documentElement.lang || "en";
  var STRINGS = {};
  try { STRINGS = JSON.parse(body.dataset.strings || "{}"); } catch (e) { STRINGS = {}; }
  function t(sentence, values) {
    var text = STRINGS[sentence] || sentence;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && name in values ? String(values[name]) : whole;
    });
  }

  // While keys keep coming, at most one prediction request per interval (the newest text),
  // and always one with the text as the last key left it.
  var TYPING_INTERVAL_MS = 150;
  // Guesses ("did you mean") wait for a pause in typing: offered at every key, they came
  // and went with each letter ("m" offered a Roland KC-M) and moved everything below them.
  var CHIP_PAUSE_MS = 600;
  var BACKOFF_BASE_MS = 500;
  var BACKOFF_CAP_MS = 15000;
  var PING_EVERY_MS = 25000;
  var PONG_WITHIN_MS = 10000;
  // After a reconnect, an answer still being written on the server is polled for this long.
  var RESYNC_DELAYS_MS = [0, 1000, 2000, 3000, 5000, 8000, 13000, 20000];
  var CITATION = /\[(?:pp?\.|\u05e2\u05de['\u05f3])\s*(\d+)(?:\s*[-\u2013]\s*\d+)?\]/g;
  // A web address in an answer is a link too, without the punctuation closing its sentence
  // (templatetags/chat_format.py `LINKABLE` is the same).
  var LINKABLE = new RegExp(
    CITATION.source + "|(https?://[^\\s<>\"'()\\[\\]]+?(?=[.,;:!?]*(?:[\\s<>\"'()\\[\\]]|$)))", "gi");
  var STATE_LABELS = {
    answered: t("From the manual"),
    not_in_manual: t("Not covered in the manual"),
    no_manual: t("No manual available"),
    no_product: t("Which product do you mean?"),
    error: t("Something went wrong"),
  };
  var FOR_STAFF_LABEL = t("A question for our staff");
  var ERROR_SENTENCES = {
    unavailable: t("The service is busy right now. Please try again in a moment."),
    rate_limited: t("That was a lot of messages at once. Please wait a few seconds and try again."),
    not_found: t("We could not find that product any more. Please pick it again."),
    too_large: t("That question is too long. Please shorten it."),
    invalid: t("That question could not be sent. Please check it and try again."),
  };

  function byId(id) { return document.getElementById(id); }
  var ui = {
    form: byId("ask-form"),
    askAbout: byId("ask-about"),
    input: byId("question"),
    productId: byId("ask-product-id"),
    list: byId("messages"),
    emptyHint: byId("empty-hint"),
    card: byId("product-card"),
    focusEmpty: byId("focus-empty"),
    chips: byId("candidates"),
    chipsLabel: byId("candidates-label"),
    chipList: byId("candidate-list"),
    banner: byId("connection-banner"),
    bannerText: byId("connection-text"),
    reconnectNow: byId("reconnect-now"),
    restartLink: byId("restart-link"),
    questionTemplate: byId("question-template"),
    answerTemplate: byId("answer-template"),
    chipTemplate: byId("chip-template"),
    hint: byId("question-hint"),
    findForm: byId("find-form"),
    findInput: byId("find-product"),
  };
  var HINT = ui.hint.dataset.liveHint || ui.hint.textContent;
  ui.hint.textContent = HINT;

  var socket = null;
  var attempts = 0;
  var reconnectTimer = null;
  var pingTimer = null;
  var pongDeadline = null;
  var connectedOnce = false;
  var closedForGood = false;
  var refCounter = 0;
  var typingTimer = null;
  var typingSentAt = 0;
  var typedAt = 0;               // when a key last changed the question box
  var chipTimer = null;
  var latestTypingRef = null;
  var latestFindRef = null;
  var focus = null;              // the protocol's product object in focus
  var chosenId = null;           // the product the customer picked, not one typing predicted
  var retryQuestion = null;      // a question answered with no_product, answered after a pick
  var asks = {};                 // ref -> {text, question, answer, questionId, ended}
  var feedbacks = {};            // ref -> feedback form
  var resyncRun = 0;

  var hooks = [];              // listeners of every server message (handoff.js)
  var api = {
    send: function (message) { return send(message); },
    nextRef: function (prefix) { return nextRef(prefix); },
    onMessage: function (hook) { hooks.push(hook); },
    appendMessage: function (item) { appendMessage(item); },
    inView: function (item) { return inView(item); },
    renderAgent: null,         // set by handoff.js: shows a saved agent reply
  };

  function nextRef(prefix) { refCounter += 1; return prefix + refCounter; }
  function isOpen() { return socket !== null && socket.readyState === WebSocket.OPEN; }
  function send(message) {
    if (!isOpen()) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  // ----- Rendering ----------------------------------------------------------------------

  function safeUrl(value) {
    var url = String(value || "").trim();
    if (url.charAt(0) === "/" && url.charAt(1) !== "/") return url;
    if (/^https?:\/\//i.test(url)) return url;
    return "";
  }

  function setText(root, selector, text) {
    var node = root.querySelector(selector);
    if (node) node.textContent = text == null ? "" : String(text);
    return node;
  }

  function citationText(container, text, citations) {
    var urls = {};
    (citations || []).forEach(function (c) {
      var url = safeUrl(c && c.url);
      if (url && !(c.page in urls)) urls[c.page] = url;
    });
    container.textContent = "";
    var last = 0;
    var match;
    LINKABLE.lastIndex = 0;
    while ((match = LINKABLE.exec(text)) !== null) {
      container.appendChild(document.createTextNode(text.slice(last, match.index)));
      var url = match[2] ? safeUrl(match[2]) : urls[Number(match[1])];
      if (url) {
        var link = document.createElement("a");
        link.className = match[2] ? "web" : "cite";
        link.href = url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.textContent = match[0];
        container.appendChild(link);
      } else {
        container.appendChild(document.createTextNode(match[0]));
      }
      last = match.index + match[0].length;
    }
    container.appendChild(document.createTextNode(text.slice(last)));
  }

  // A snippet that is only a heading says nothing: quote the answer's own words cited to that
  // page instead (templatetags/chat_format.py `source_snippet` picks the same).
  var HEADING_WORDS = 8;
  var SNIPPET_CHARS = 240;
  function sourceSnippet(citation, text) {
    var snippet = String(citation.snippet || "").split(/\s+/).filter(Boolean).join(" ");
    var words = snippet ? snippet.split(" ").length : 0;
    if (words > HEADING_WORDS || /[.!?:;\u2026]$/.test(snippet)) return snippet;
    var start = 0;
    var match;
    CITATION.lastIndex = 0;
    while ((match = CITATION.exec(text)) !== null) {
      if (match[1] === String(citation.page)) {
        var passage = text.slice(start, match.index).split(/\s+/).filter(Boolean).join(" ");
        if (!passage) break;
        if (passage.length <= SNIPPET_CHARS) return passage;
        var cut = passage.slice(0, SNIPPET_CHARS);
        var space = cut.lastIndexOf(" ");
        return (space > 0 ? cut.slice(0, space) : cut) + "\u2026";
      }
      start = match.index + match[0].length;
    }
    return snippet;
  }

  function cloneTemplate(template) {
    return template.content.firstElementChild.cloneNode(true);
  }

  // Right to left when Hebrew letters are at least a third of the letters, the rule the
  // server decides a question's language by: dir=auto goes by the first letter, and a
  // Hebrew question often opens with a Latin model name.
  function textDir(text) {
    var hebrew = (text.match(/[\u05d0-\u05ea]/g) || []).length;
    var latin = (text.match(/[A-Za-z]/g) || []).length;
    return hebrew > 0 && hebrew * 2 >= latin ? "rtl" : "auto";
  }

  function newQuestion(text, id) {
    var item = cloneTemplate(ui.questionTemplate);
    setText(item, ".msg-text", text);
    item.querySelector(".msg-text").dir = textDir(text);
    if (id) setMessageId(item, id);
    return item;
  }

  function setMessageId(item, id) {
    item.id = "message-" + id;
    item.dataset.messageId = String(id);
  }

  function newAnswer() {
    var item = cloneTemplate(ui.answerTemplate);
    item.classList.add("is-waiting");
    setText(item, ".msg-text", t("Looking it up…"));
    return item;
  }

  // A shop question the catalog cannot answer (engine "catalog") is no manual's gap
  // (templatetags/chat_format.py `state_label` is the same).
  function stateLabel(state, engine) {
    if (state === "not_in_manual" && engine === "catalog") return FOR_STAFF_LABEL;
    return STATE_LABELS[state] || "";
  }

  function setState(item, state, engine) {
    item.dataset.state = state;
    var label = setText(item, ".msg-state", stateLabel(state, engine));
    label.hidden = !state || state === "answered" || state === "handed_off";
  }

  // Fills an answer from `answer_end` or from a saved message (same fields, `id` or `message_id`).
  function fillAnswer(item, data) {
    var id = data.message_id || data.id;
    item.classList.remove("is-waiting", "is-streaming");
    setState(item, data.state, data.engine);
    citationText(item.querySelector(".msg-text"), data.text || "", data.citations);

    var sources = item.querySelector(".sources");
    var list = item.querySelector(".source-list");
    list.textContent = "";
    // Pages of several documents (an owner's manual and a MIDI chart) say whose they are
    // (templatetags/chat_format.py `cites_several_documents`).
    var titles = {};
    (data.citations || []).forEach(function (c) { if (c.document) titles[c.document] = true; });
    var several = Object.keys(titles).length > 1;
    (data.citations || []).forEach(function (c) {
      var li = document.createElement("li");
      if (several && c.document) {
        var title = document.createElement("span");
        title.className = "source-document";
        title.dir = "auto";
        title.textContent = c.document;
        li.appendChild(title);
        li.appendChild(document.createTextNode(", "));
      }
      var link = document.createElement("a");
      var url = safeUrl(c.url);
      if (url) link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = t("p. {page}", { page: c.page });
      var quote = document.createElement("q");
      quote.dir = "auto";
      quote.textContent = sourceSnippet(c, data.text || "");
      li.appendChild(link);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(quote);
      list.appendChild(li);
    });
    sources.hidden = !(data.citations && data.citations.length);

    var product = data.product_name || (data.product && data.product.name) || "";
    var meta = item.querySelector(".msg-meta");
    setText(item, ".msg-product", product);
    meta.hidden = !product;

    if (id) setMessageId(item, id);
    // A question sent to a person, or one asked back about the product, is not an answer to rate.
    if (id && data.state !== "handed_off" && data.state !== "no_product") {
      prepareFeedback(item, id, data.rating || (data.feedback && data.feedback.rating) || null);
    }
  }

  function failAnswer(item, sentence) {
    item.classList.remove("is-waiting", "is-streaming");
    setState(item, "error");
    setText(item, ".msg-text", sentence);
  }

  function prepareFeedback(item, id, rating) {
    var form = item.querySelector(".feedback");
    form.hidden = false;
    form.elements.message_id.value = String(id);
    var comment = form.querySelector("textarea");
    var label = form.querySelector("label");
    comment.id = "comment-" + id;
    label.htmlFor = comment.id;
    form.dataset.savedComment = comment.value;
    markRating(form, rating);
  }

  function markRating(form, rating) {
    Array.prototype.forEach.call(form.querySelectorAll(".thumb"), function (button) {
      button.setAttribute("aria-pressed", String(Number(button.value) === rating));
    });
  }

  // The question form stays at the bottom of the screen (fixed on a phone, chat.css); the
  // page keeps room below the conversation as tall as the form is.
  function keepRoomForForm() {
    document.documentElement.style.setProperty("--ask-height", ui.form.offsetHeight + "px");
  }
  if (window.ResizeObserver) new ResizeObserver(keepRoomForForm).observe(ui.form);
  keepRoomForForm();

  function inView(item) {
    return item.getBoundingClientRect().bottom <= ui.form.getBoundingClientRect().top + 24;
  }

  // Scroll a growing answer out from under the question form, but never its start off the
  // top of the screen: a long answer is read from its first line.
  function followAnswer(item) {
    var rect = item.getBoundingClientRect();
    var hidden = rect.bottom - ui.form.getBoundingClientRect().top;
    if (hidden > 0) window.scrollBy(0, Math.max(0, Math.min(hidden + 8, rect.top - 8)));
  }

  function appendMessage(item) {
    ui.list.appendChild(item);
    ui.emptyHint.hidden = true;
    item.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  // ----- Product card and chips ---------------------------------------------------------

  function manualLabel(manual) {
    if (!manual) return t("No manual on file for this product");
    var percent = Math.round((manual.progress || 0) * 100);
    switch (manual.status) {
      case "ready": return manual.pages ? t("Manual ready · {pages} pages", { pages: manual.pages }) : t("Manual ready");
      case "queued": return t("Manual queued for download…");
      case "fetching": return t("Downloading the manual… {percent}%", { percent: percent });
      case "extracting": return t("Reading the manual… {percent}%", { percent: percent });
      case "failed": return manual.error || t("The manual could not be loaded.");
      default: return t("Manual not downloaded yet");
    }
  }

  // The card's headline: how many documents are ready when the product has several and all
  // are (the list under it names them), else its first document's status.
  function cardManualLabel(manual, documents) {
    var all = documents || [];
    var ready = all.filter(function (document_) { return document_.status === "ready"; });
    if (all.length > 1 && ready.length === all.length) {
      return t("{count} documents ready", { count: all.length });
    }
    return manualLabel(manual);
  }

  function renderManual(manual, documents) {
    var box = ui.card.querySelector(".manual-status");
    var bar = ui.card.querySelector(".manual-progress");
    box.dataset.status = manual ? manual.status : "none";
    setText(box, ".manual-label", cardManualLabel(manual, documents));
    var busy = !!manual && ["queued", "fetching", "extracting"].indexOf(manual.status) >= 0;
    bar.hidden = !busy;
    bar.value = busy ? manual.progress || 0 : 0;
  }

  var DOCUMENT_KINDS = {
    owners_manual: t("Owner's manual"),
    reference: t("Reference manual"),
    parameter_guide: t("Parameter guide"),
    midi_implementation: t("MIDI implementation"),
    quick_start: t("Quick start"),
    other: t("Document"),
  };

  // Every document of the product and its status, when it has more than one.
  function renderDocuments(documents) {
    var list = byId("card-documents");
    if (!list) return;
    list.textContent = "";
    (documents || []).forEach(function (document_) {
      var item = document.createElement("li");
      item.dataset.manualId = document_.id;
      item.dataset.status = document_.status;
      var title = document.createElement("span");
      title.className = "document-title";
      title.dir = "auto";
      title.textContent = document_.title || DOCUMENT_KINDS[document_.kind] || DOCUMENT_KINDS.other;
      var status = document.createElement("span");
      status.className = "document-status";
      status.textContent = manualLabel(document_);
      item.appendChild(title);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(status);
      list.appendChild(item);
    });
    list.hidden = !documents || documents.length < 2;
  }

  function formatPrice(price, currency) {
    var amount = Number(price);
    if (price == null || price === "" || !isFinite(amount)) return "";
    // The same as the server's Babel formatting: "₪4,990.00" in English, "4,990.00 ₪" in Hebrew.
    var locale = LANG === "he" ? "he-IL" : "en-IL";
    if (currency) {
      try {
        return new Intl.NumberFormat(locale, { style: "currency", currency: currency }).format(amount);
      } catch (e) { /* an unknown currency code: the number and the code */ }
    }
    return amount.toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) +
      (currency ? " " + currency : "");
  }

  function setFocus(product) {
    var changed = !focus || focus.id !== product.id;
    focus = product;
    ui.productId.value = product.id;
    ui.card.dataset.productId = product.id;
    // The brand once: not above a name that already says it (a Katana named with its Boss).
    var brand = brandToSay(product);
    setText(ui.card, ".card-brand", brand).hidden = !brand;
    setText(ui.card, ".card-name", product.name);
    setText(ui.card, ".card-category", product.category);
    var price = setText(ui.card, ".card-price", formatPrice(product.price, product.currency));
    price.hidden = !price.textContent;
    var image = ui.card.querySelector(".card-image");
    var imageUrl = safeUrl(product.image_url);
    if (imageUrl) {
      if (image.getAttribute("src") !== imageUrl) image.src = imageUrl;
      image.hidden = false;
    } else {
      image.removeAttribute("src");
      image.hidden = true;
    }
    var link = ui.card.querySelector(".card-link");
    var productUrl = safeUrl(product.url);
    if (productUrl) link.href = productUrl; else link.removeAttribute("href");
    link.hidden = !productUrl;
    renderManual(product.manual, product.documents);
    renderDocuments(product.documents);
    ui.card.hidden = false;
    ui.focusEmpty.hidden = true;
    // The card may be a screen away on a phone; the form says the product too.
    ui.askAbout.textContent = t("about {product}",
      { product: brand ? brand + " " + product.name : product.name });
    ui.askAbout.hidden = false;
    if (changed) hideChips();
  }

  function hideChips() {
    clearTimeout(chipTimer);
    chipTimer = null;
    ui.chips.hidden = true;
    ui.chips.classList.remove("is-question", "is-sure");
    ui.chipList.textContent = "";
    latestFindRef = null;
  }

  function words(text) {
    return (text || "").toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  }

  // Most catalog names say the brand; say it once. Catalog brands are often longer than the
  // name says them (a maker's name plus its trade): their first word is enough.
  // (chat_format.chip_brand says it the same way on the server.)
  function brandToSay(product) {
    var brand = product.brand || "";
    var brandWords = words(brand);
    var named = brandWords.length > 0 && words(product.name).indexOf(brandWords[0]) >= 0;
    return named ? "" : brand;
  }

  function showChips(candidates, label, asQuestion, sure) {
    clearTimeout(chipTimer);
    chipTimer = null;
    ui.chipList.textContent = "";
    candidates.forEach(function (candidate) {
      var product = candidate.product;
      if (focus && product.id === focus.id) return;
      var item = cloneTemplate(ui.chipTemplate);
      var button = item.querySelector("button");
      setText(button, ".chip-name", product.name);
      setText(button, ".chip-brand", brandToSay(product));
      button.addEventListener("click", function () { choose(product); });
      ui.chipList.appendChild(item);
    });
    ui.chips.classList.toggle("is-question", !!asQuestion);
    ui.chips.classList.toggle("is-sure", !!sure);
    if (asQuestion && ui.chipList.children.length === 0) {
      label = t("No product matches that yet.");
    }
    ui.chipsLabel.textContent = label;
    // Asking which product, the search box stays even with no chip to offer.
    ui.chips.hidden = !asQuestion && ui.chipList.children.length === 0;
  }

  function choose(product) {
    chosenId = product.id;
    setFocus(product);
    send({ type: "select", ref: nextRef("s"), product_id: product.id });
    if (retryQuestion) {
      // The pick is the customer's reply to "which product do you mean?": the server answers
      // the question that asked it about this product (docs/protocol.md).
      retryQuestion = null;
      ask(product.name, product.id);
    }
    ui.input.focus();
  }

  // ----- Asking and answers --------------------------------------------------------------

  function ask(text, productId) {
    clearTimeout(chipTimer);  // chips still due for the text just sent would be stale
    chipTimer = null;
    var ref = nextRef("q");
    var message = { type: "ask", ref: ref, text: text };
    if (productId) message.product_id = productId;
    var question = newQuestion(text);
    var answer = newAnswer();
    asks[ref] = { text: text, question: question, answer: answer, questionId: null, ended: false };
    appendMessage(question);
    appendMessage(answer);
    if (!send(message)) {
      failAnswer(answer, t("Not sent: the connection dropped. Your question is back in the box below."));
      restoreQuestion(ref);
    }
  }

  function answering() {
    return Object.keys(asks).some(function (ref) { return !asks[ref].ended; });
  }

  function restoreQuestion(ref) {
    var pending = asks[ref];
    delete asks[ref];
    if (!ui.input.value) ui.input.value = pending.text;
  }

  function onAnswerStart(msg, pending) {
    pending.questionId = msg.question_id;
    pending.product = msg.product || null;
    if (msg.question_id) setMessageId(pending.question, msg.question_id);
    if (msg.product) setFocus(msg.product);
    pending.answer.classList.remove("is-waiting");
    pending.answer.classList.add("is-streaming");
    pending.answer.querySelector(".msg-text").textContent = "";
  }

  function onAnswerDelta(msg, pending) {
    if (pending.answer.classList.contains("is-waiting")) {
      pending.answer.classList.remove("is-waiting");
      pending.answer.classList.add("is-streaming");
      pending.answer.querySelector(".msg-text").textContent = "";
    }
    // Followed only while it is in view: a customer who scrolled up to read stays there.
    var following = inView(pending.answer);
    pending.answer.querySelector(".msg-text").appendChild(document.createTextNode(msg.text || ""));
    if (following) followAnswer(pending.answer);
  }

  function onAnswerEnd(msg, ref, pending) {
    pending.ended = true;
    if (msg.state === "handed_off" && !msg.message_id) {
      // Protocol 1.1: the question went to the person who has the chat; no bot answer.
      pending.answer.remove();
      delete asks[ref];
      return;
    }
    // answer_end does not repeat the product; the saved message (and so a reload) has it.
    var following = inView(pending.answer);
    fillAnswer(pending.answer, Object.assign({ product: pending.product }, msg));
    if (following) followAnswer(pending.answer);
    if (msg.state === "no_product") retryQuestion = pending.text;
    // A `prediction` with the same ref may follow a no_product answer; keep the ref until then.
    if (msg.state !== "no_product") delete asks[ref];
  }

  // ----- Feedback ------------------------------------------------------------------------

  // A comment is saved with the rating: by a thumb, by its send button, by Enter in the box
  // (Shift+Enter for a new line), or when the box loses focus with an unsaved change.
  function feedbackStatus(form, text) {
    form.querySelector(".feedback-status").textContent = text;
  }

  function sendFeedback(form, thumb) {
    var button = thumb || form.querySelector('.thumb[aria-pressed="true"]');
    var comment = form.elements.comment.value.slice(0, 2000);
    if (!button) {
      feedbackStatus(form, t("Choose Yes or No to send your comment with it."));
      return;
    }
    if (!isOpen()) {
      feedbackStatus(form, t("Not saved: the connection dropped. Please send it again in a moment."));
      return;
    }
    var ref = nextRef("f");
    feedbacks[ref] = { form: form, comment: comment };
    var rating = Number(button.value);
    markRating(form, rating);
    feedbackStatus(form, t("Saving…"));
    send({
      type: "feedback",
      ref: ref,
      message_id: Number(form.elements.message_id.value),
      rating: rating,
      comment: comment,
    });
  }

  function commentChanged(form) {
    return form.elements.comment.value.slice(0, 2000) !== (form.dataset.savedComment || "");
  }

  ui.list.addEventListener("submit", function (event) {
    var form = event.target.closest(".feedback");
    if (!form || !isOpen()) return;  // without a socket the form posts over HTTP
    event.preventDefault();
    var button = event.submitter;
    sendFeedback(form, button && button.classList.contains("thumb") ? button : null);
  });

  ui.list.addEventListener("keydown", function (event) {
    var form = event.target.closest(".feedback");
    if (!form || event.target.name !== "comment") return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendFeedback(form, null);
    }
  });

  ui.list.addEventListener("input", function (event) {
    var form = event.target.closest(".feedback");
    if (!form || event.target.name !== "comment") return;
    if (commentChanged(form)) feedbackStatus(form, t("Not sent yet: press Enter or Send comment."));
  });

  ui.list.addEventListener("focusout", function (event) {
    var form = event.target.closest(".feedback");
    if (!form || event.target.name !== "comment" || !commentChanged(form)) return;
    // Leaving the box for one of the form's own buttons sends anyway: do not send twice.
    if (event.relatedTarget && form.contains(event.relatedTarget) &&
        event.relatedTarget.type === "submit") return;
    sendFeedback(form, null);
  });

  // ----- Messages from the server ----------------------------------------------------------

  function onMessage(event) {
    var msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    var pending = msg.ref ? asks[msg.ref] : null;
    hooks.forEach(function (hook) { hook(msg); });
    switch (msg.type) {
      case "prediction":
        if (pending) {
          delete asks[msg.ref];
          showChips(msg.candidates || [], t("Pick your product and we will answer:"), true);
          // The answer asks to pick one: on a phone the chips are a screen or more above it.
          ui.chips.scrollIntoView({ block: "nearest" });
        } else if (msg.ref === latestFindRef) {
          showChips(msg.candidates || [], t("Pick your product and we will answer:"), true);
        } else if (msg.ref === latestTypingRef) {
          onPrediction(msg.candidates || []);
        }
        break;
      case "selected":
        if (msg.product) setFocus(msg.product);
        break;
      case "manual_status":
        if (focus && focus.manual && (msg.product_id === focus.id || msg.manual_id === focus.manual.id)) {
          var update = { id: msg.manual_id, status: msg.status, pages: msg.pages,
            progress: msg.progress, error: msg.error };
          (focus.documents || []).forEach(function (document_, position) {
            if (document_.id === msg.manual_id) {
              focus.documents[position] = Object.assign({}, document_, update);
            }
          });
          if (msg.manual_id === focus.manual.id) focus.manual = update;
          renderManual(focus.manual, focus.documents);
          renderDocuments(focus.documents);
        }
        break;
      case "answer_start":
        if (pending) onAnswerStart(msg, pending);
        break;
      case "answer_delta":
        if (pending) onAnswerDelta(msg, pending);
        break;
      case "answer_end":
        if (pending) onAnswerEnd(msg, msg.ref, pending);
        break;
      case "feedback_saved":
        if (feedbacks[msg.ref]) {
          var saved = feedbacks[msg.ref];
          delete feedbacks[msg.ref];
          saved.form.dataset.savedComment = saved.comment;
          feedbackStatus(saved.form, saved.comment ? t("Thanks, your comment was saved.") : t("Thanks for your feedback."));
          if (commentChanged(saved.form)) feedbackStatus(saved.form, t("Not sent yet: press Enter or Send comment."));
        }
        break;
      case "pong":
        pongDeadline = null;
        break;
      case "error":
        onError(msg, pending);
        break;
    }
  }

  function onPrediction(candidates) {
    var top = candidates[0];
    var confident = !!(top && top.confident);
    if (confident) setFocus(top.product);
    var offer = function () {
      if (confident) showChips(candidates.slice(1), t("Not this one? Other matches:"), false, true);
      else if (candidates.length) showChips(candidates, focus ? t("Or did you mean:") : t("Did you mean:"), false);
      else hideChips();
    };
    clearTimeout(chipTimer);
    var wait = typedAt + CHIP_PAUSE_MS - Date.now();
    chipTimer = wait > 0 ? setTimeout(offer, wait) : null;
    if (wait <= 0) offer();
  }

  function onError(msg, pending) {
    var sentence = ERROR_SENTENCES[msg.code] || t("Sorry, something went wrong on our side. Please try again.");
    if (pending) {
      if (!pending.ended) failAnswer(pending.answer, sentence);
      delete asks[msg.ref];
    } else if (feedbacks[msg.ref]) {
      feedbackStatus(feedbacks[msg.ref].form, sentence);
      delete feedbacks[msg.ref];
    }
  }

  // ----- Typing ----------------------------------------------------------------------------

  // The question box and the product search box share one request rhythm; each request
  // reads the box typed in last.
  var typingField = ui.input;

  function sendTyping() {
    typingTimer = null;
    typingSentAt = Date.now();
    var text = typingField.value.trim().slice(0, 1000);
    if (typingField === ui.findInput) {
      if (!text) return;
      latestFindRef = nextRef("k");
      send({ type: "typing", ref: latestFindRef, text: text });
      return;
    }
    if (!text) { hideChips(); latestTypingRef = null; return; }
    latestTypingRef = nextRef("t");
    send({ type: "typing", ref: latestTypingRef, text: text });
  }

  function onTyped(field) {
    typingField = field;
    if (typingTimer !== null) return;  // the request already due reads the newest text
    var wait = typingSentAt + TYPING_INTERVAL_MS - Date.now();
    if (wait <= 0) sendTyping();
    else typingTimer = setTimeout(sendTyping, wait);
  }

  ui.input.addEventListener("input", function () {
    typedAt = Date.now();
    ui.input.dir = textDir(ui.input.value);
    onTyped(ui.input);
  });
  ui.findInput.addEventListener("input", function () { onTyped(ui.findInput); });
  ui.findForm.addEventListener("submit", function (event) {
    if (!isOpen()) return;  // without the socket the page searches over HTTP
    event.preventDefault();
    cancelTyping();
    typingField = ui.findInput;
    sendTyping();
  });

  // Chips the server rendered (after a no_product answer, or a search without the script).
  ui.chipList.addEventListener("submit", function (event) {
    var form = event.target.closest(".chip-form");
    if (!form || !isOpen()) return;
    event.preventDefault();
    var button = form.querySelector("button");
    retryQuestion = form.elements.text.value;
    choose({ id: button.value, name: button.querySelector(".chip-name").textContent });
  });

  function cancelTyping() {
    clearTimeout(typingTimer);
    typingTimer = null;
  }

  ui.input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.form.requestSubmit();
    }
  });

  ui.form.addEventListener("submit", function (event) {
    if (!isOpen()) return;  // the browser posts the form: the page works without the socket
    event.preventDefault();
    var text = ui.input.value.trim();
    if (!text) return;
    if (answering()) {
      // The server takes one question at a time; keep this one in the box until it can go.
      ui.hint.textContent = t("One moment: the current answer is still coming in.");
      ui.hint.classList.add("is-warning");
      return;
    }
    ui.hint.textContent = HINT;
    ui.hint.classList.remove("is-warning");
    cancelTyping();
    ui.input.value = "";
    retryQuestion = null;
    // Guesses from the words just sent (a stereo bar for "and in stereo?") say nothing
    // about the answer; the other matches beside a sure product stay.
    latestTypingRef = null;
    if (!ui.chips.classList.contains("is-sure")) hideChips();
    // A product the customer picked is named; one typing predicted is left to the server,
    // which answers about it unless the question names another product as strongly.
    ask(text, focus && focus.id === chosenId ? focus.id : null);
  });

  // ----- Connection ------------------------------------------------------------------------

  function showBanner(text, options) {
    ui.bannerText.textContent = text;
    ui.reconnectNow.hidden = !(options && options.retry);
    ui.restartLink.hidden = !(options && options.restart);
    ui.banner.hidden = false;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + wsPath);
    socket.addEventListener("open", onOpen);
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
  }

  function onOpen() {
    var reconnected = connectedOnce;
    connectedOnce = true;
    attempts = 0;
    ui.banner.hidden = true;
    body.classList.add("is-connected");
    startHeartbeat();
    // The subscription to the manual's progress belongs to a connection: renew it.
    if (focus) send({ type: "select", ref: nextRef("s"), product_id: focus.id });
    if (reconnected) resync();
  }

  function onClose(event) {
    if (event.target !== socket) return;
    socket = null;
    stopHeartbeat();
    body.classList.remove("is-connected");
    if (event.code === 4403 || event.code === 4404) {
      closedForGood = true;
      showBanner(t("This conversation is not available here."), { restart: true });
      return;
    }
    Object.keys(asks).forEach(function (ref) {
      var pending = asks[ref];
      if (!pending.ended) setText(pending.answer, ".msg-text", t("Connection lost. The answer will appear here when we are back."));
    });
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (closedForGood || reconnectTimer !== null) return;
    // Full jitter, so a restarted server is not hit by every page at the same moment.
    var ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, attempts));
    var delay = Math.round(250 + Math.random() * ceiling);
    attempts += 1;
    showBanner(t("Connection lost. Reconnecting…"), { retry: true });
    reconnectTimer = setTimeout(connect, delay);
  }

  // Drops a socket that stopped answering without waiting for the browser to notice.
  function dropSocket() {
    if (!socket) return;
    var dead = socket;
    socket = null;
    dead.close();
    onClose({ target: null, code: 1006 });
  }

  function startHeartbeat() {
    stopHeartbeat();
    pingTimer = setInterval(function () {
      if (pongDeadline !== null && Date.now() > pongDeadline) { dropSocket(); return; }
      if (pongDeadline === null) pongDeadline = Date.now() + PONG_WITHIN_MS;
      send({ type: "ping", ref: nextRef("p") });
    }, PING_EVERY_MS);
  }

  function stopHeartbeat() {
    clearInterval(pingTimer);
    pingTimer = null;
    pongDeadline = null;
  }

  ui.reconnectNow.addEventListener("click", function () {
    if (!socket && !closedForGood) connect();
  });
  window.addEventListener("online", function () {
    if (!socket && !closedForGood) connect();
  });

  // ----- Catching up after a reconnect -------------------------------------------------------

  // Answers that were being written when the connection dropped are finished and saved by the
  // server; fetch the saved conversation and show what is missing, until nothing is pending.
  function resync() {
    resyncRun += 1;
    var run = resyncRun;
    var step = 0;
    function poll() {
      if (run !== resyncRun) return;
      fetch(messagesUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (run !== resyncRun) return;
          if (catchUp(data.messages || [], step === RESYNC_DELAYS_MS.length - 1)) return;
          step += 1;
          if (step < RESYNC_DELAYS_MS.length) setTimeout(poll, RESYNC_DELAYS_MS[step]);
        })
        .catch(function () {
          step += 1;
          if (step < RESYNC_DELAYS_MS.length) setTimeout(poll, RESYNC_DELAYS_MS[step]);
        });
    }
    poll();
  }

  // Returns true when no interrupted question is still waiting for its answer.
  function catchUp(saved, lastTry) {
    var shown = {};
    Array.prototype.forEach.call(ui.list.querySelectorAll("[data-message-id]"), function (node) {
      shown[node.dataset.messageId] = node;
    });
    var answers = {};
    saved.forEach(function (m) { if (m.role === "answer" && m.question_id) answers[m.question_id] = m; });

    var waiting = false;
    Object.keys(asks).forEach(function (ref) {
      var pending = asks[ref];
      if (pending.ended) return;
      if (!pending.questionId) {
        // The question may have been saved without our hearing of it: adopt the newest match.
        for (var i = saved.length - 1; i >= 0; i -= 1) {
          var m = saved[i];
          if (m.role === "question" && m.text === pending.text && !shown[m.id]) {
            pending.questionId = m.id;
            setMessageId(pending.question, m.id);
            shown[m.id] = pending.question;
            break;
          }
        }
      }
      var answer = pending.questionId && answers[pending.questionId];
      if (answer) {
        fillAnswer(pending.answer, answer);
        shown[answer.id] = pending.answer;
        delete asks[ref];
      } else if (!pending.questionId && lastTry) {
        failAnswer(pending.answer, t("Not sent: the connection dropped. Your question is back in the box below."));
        restoreQuestion(ref);
      } else if (lastTry) {
        failAnswer(pending.answer, t("The answer is taking too long. Please reload the page or ask again."));
        delete asks[ref];
      } else {
        waiting = true;
        setText(pending.answer, ".msg-text", t("Reconnected. Fetching the rest of the answer…"));
      }
    });

    // Messages saved while we were away (asked from another tab, or never streamed to us).
    saved.forEach(function (m) {
      if (shown[m.id]) return;
      if (m.role === "question") {
        appendMessage(newQuestion(m.text, m.id));
      } else if (m.role === "agent") {
        if (api.renderAgent) api.renderAgent(m);
      } else if (!waitingFor(m.question_id)) {
        var item = cloneTemplate(ui.answerTemplate);
        fillAnswer(item, m);
        appendMessage(item);
      }
      shown[m.id] = true;
    });
    return !waiting;
  }

  function waitingFor(questionId) {
    return Object.keys(asks).some(function (ref) { return asks[ref].questionId === questionId; });
  }

  // ----- Start -------------------------------------------------------------------------------

  if (ui.card.dataset.productId) {
    focus = {
      id: ui.card.dataset.productId,
      name: ui.card.querySelector(".card-name").textContent,
      manual: null,
    };
  }
  if (ui.chips.classList.contains("is-question")) retryQuestion = ui.chips.dataset.question || null;
  Array.prototype.forEach.call(ui.list.querySelectorAll(".feedback"), function (form) {
    form.dataset.savedComment = form.elements.comment.value;
  });
  var last = ui.list.lastElementChild;
  if (last) last.scrollIntoView({ block: "nearest" });
  // What static/chat/handoff.js (live support, protocol 1.1) builds on.
  window.hscChat = api;
  connect();
})();
