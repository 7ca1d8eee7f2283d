// sori local chat page: posts Kakao skill payloads to POST /skill (same origin, X-Skill-Secret header) and
// renders Kakao 2.0 replies as chat bubbles: simpleText, simpleImage, textCard, basicCard, listCard, carousel,
// quickReplies. The secret comes from the URL fragment (#secret=...; `sori serve` prints that URL) or the box.
// Query parameters: ?q=TEXT asks once on load; ?lang=en; ?tap=N then taps the N-th quick reply of that answer
// (what the headless-browser test uses to follow a quick reply round trip).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const log = $("log"), quick = $("quick"), form = $("form"), text = $("text");
  const params = new URLSearchParams(location.search);
  const frag = new URLSearchParams(location.hash.slice(1));
  if (frag.get("secret")) sessionStorage.setItem("sori.secret", frag.get("secret"));
  const userId = sessionStorage.getItem("sori.user") || ("web-" + Math.random().toString(36).slice(2, 10));
  sessionStorage.setItem("sori.user", userId);
  if (params.get("lang")) $("lang").value = params.get("lang");
  const secret = () => sessionStorage.getItem("sori.secret") || $("secret").value || "";
  if (!sessionStorage.getItem("sori.secret")) $("secretbox").hidden = false;

  function el(tag, cls, txt) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (txt !== undefined && txt !== null) e.textContent = txt;
    return e;
  }
  function safeUrl(u) { return typeof u === "string" && /^https?:\/\//i.test(u) ? u : null; }
  function row(who, child) {
    const r = el("div", "row " + who);
    r.appendChild(child);
    log.appendChild(r);
    log.scrollTop = log.scrollHeight;
    return r;
  }
  function bubble(who, txt, extraCls) { return row(who, el("div", "bubble" + (extraCls ? " " + extraCls : ""), txt)); }

  function actionButton(b) {
    const url = b.action === "webLink" ? safeUrl(b.webLinkUrl) : null;
    if (url) {
      const a = el("a", "btn", b.label);
      a.href = url; a.target = "_blank"; a.rel = "noopener";
      return a;
    }
    const btn = el("button", "btn", b.label);
    btn.type = "button";
    if (b.action === "message" || b.action === "block") btn.onclick = () => send(b.messageText || b.label, b.extra);
    return btn;
  }
  function buttons(list) {
    const box = el("div", "buttons");
    (list || []).forEach((b) => box.appendChild(actionButton(b)));
    return box;
  }
  function listItem(it) {
    const link = safeUrl(it.link && (it.link.web || it.link.mobile || it.link.pc));
    const item = el(link ? "a" : "div", "item");
    if (link) { item.href = link; item.target = "_blank"; item.rel = "noopener"; }
    else if (it.action === "message") { item.style.cursor = "pointer"; item.onclick = () => send(it.messageText || it.title, it.extra); }
    const img = safeUrl(it.imageUrl);
    if (img) {
      const i = el("img"); i.alt = ""; i.loading = "lazy";
      i.onerror = () => { i.style.visibility = "hidden"; };  // offline: the emulator's image hosts are not reachable
      i.src = img; item.appendChild(i);
    }
    const body = el("div");
    body.appendChild(el("div", "t", it.title));
    if (it.description) body.appendChild(el("div", "d", it.description));
    item.appendChild(body);
    return item;
  }
  function listCard(c) {
    const card = el("div", "card listcard");
    card.appendChild(el("div", "header", c.header && c.header.title));
    (c.items || []).forEach((it) => card.appendChild(listItem(it)));
    if (c.buttons && c.buttons.length) card.appendChild(buttons(c.buttons));
    return card;
  }
  function textCard(c) {
    const card = el("div", "card textcard");
    if (c.thumbnail && safeUrl(c.thumbnail.imageUrl)) { const i = el("img"); i.src = c.thumbnail.imageUrl; i.alt = c.thumbnail.altText || ""; i.style.width = "100%"; card.appendChild(i); }
    if (c.title) card.appendChild(el("div", "header", c.title));
    if (c.description) card.appendChild(el("div", "desc", c.description));
    if (c.buttons && c.buttons.length) card.appendChild(buttons(c.buttons));
    return card;
  }
  function render(resp) {
    const tpl = (resp && resp.template) || {};
    (tpl.outputs || []).forEach((o) => {
      if (o.simpleText) bubble("bot", o.simpleText.text);
      else if (o.simpleImage) { const i = el("img"); i.src = safeUrl(o.simpleImage.imageUrl) || ""; i.alt = o.simpleImage.altText || ""; i.style.maxWidth = "240px"; row("bot", i); }
      else if (o.listCard) row("bot", listCard(o.listCard));
      else if (o.textCard || o.basicCard) row("bot", textCard(o.textCard || o.basicCard));
      else if (o.carousel) {
        const car = el("div", "carousel");
        (o.carousel.items || []).forEach((c) => car.appendChild(o.carousel.type === "listCard" ? listCard(c) : textCard(c)));
        row("bot", car);
      } else bubble("bot", JSON.stringify(o));
    });
    quick.textContent = "";
    (tpl.quickReplies || []).forEach((q) => {
      const b = el("button", "qr", q.label);
      b.type = "button";
      b.onclick = () => send(q.messageText || q.label, q.extra);
      quick.appendChild(b);
    });
  }
  function payload(utterance, extra) {
    const action = { id: "web", name: "sori", params: {}, detailParams: {} };
    if (extra) action.clientExtra = extra;
    return {
      intent: { id: "web-fallback", name: "폴백 블록", extra: {} },
      userRequest: { timezone: "Asia/Seoul", params: { surface: "Kakaotalk.plusfriend" }, block: { id: "web", name: "폴백 블록" },
                     utterance: utterance, lang: $("lang").value, user: { id: userId, type: "botUserKey", properties: {} } },
      bot: { id: "sori-local", name: "sori" }, action: action, contexts: [],
    };
  }
  async function send(utterance, extra) {
    if (typeof utterance !== "string") return;
    bubble("me", utterance);
    const typing = bubble("bot", "…", "typing");
    const t0 = performance.now();
    try {
      const r = await fetch("skill", { method: "POST", headers: { "Content-Type": "application/json", "X-Skill-Secret": secret() },
                                       body: JSON.stringify(payload(utterance, extra)) });
      const body = await r.json();
      typing.remove();
      if (r.status === 401) { $("secretbox").hidden = false; bubble("bot", "401: skill secret가 필요해요 (sori status).", "error"); return; }
      if (!r.ok) { bubble("bot", r.status + ": " + (body.reason || body.error || JSON.stringify(body)), "error"); return; }
      render(body);
      const tap = Number(params.get("tap") || 0);
      if (tap && !document.body.dataset.tapped && quick.children[tap - 1]) {
        document.body.dataset.tapped = "1";
        setTimeout(() => quick.children[tap - 1].click(), 0);
      }
      document.body.dataset.lastMs = String(Math.round(performance.now() - t0));
      document.body.dataset.replies = String(Number(document.body.dataset.replies || 0) + 1);
    } catch (e) {
      typing.remove();
      bubble("bot", "연결 오류: " + e, "error");
    }
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = text.value.trim();
    if (!v) return;
    text.value = "";
    send(v);
  });
  $("secret").addEventListener("change", () => sessionStorage.setItem("sori.secret", $("secret").value));
  window.soriSend = send;
  if (params.get("q")) send(params.get("q"));
  else send("안녕하세요");
})();
