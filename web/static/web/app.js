/* Shared helpers for the demo's pages: JSON calls with the session cookie and the
   CSRF header, an Idempotency-Key on every POST, times and latencies, and
   forms that submit once. No dependencies, no build step. */
"use strict";

(function () {
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; getRandomValues does not.
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  /* A page that polls has a read in flight most of the time. Once the user
     switches identity or signs out, that read would be answered for nobody (a
     401 in the console): cancel the reads and start none until the page goes. */
  const reads = new AbortController();
  const LEAVING = { ok: false, status: 0, data: { title: "Leaving the page", detail: "" } };
  let leaving = false;
  document.addEventListener("submit", (event) => {
    if (event.target.matches("form.switcher, form.signout")) {
      leaving = true;
      reads.abort();
    }
  });

  /* Call the app's own JSON endpoints. Resolves to {ok, status, data}; never
     rejects, so a page can show the problem's detail instead of failing. */
  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (method === "GET") {
      if (leaving) return LEAVING;
      init.signal = reads.signal;
    } else {
      headers["X-CSRFToken"] = csrfToken();
      headers["Idempotency-Key"] = newKey();
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      if (error.name === "AbortError") return LEAVING;
      return { ok: false, status: 0, data: {
        title: "The app cannot be reached", detail: "Is the demo still running?" } };
    }
    const type = response.headers.get("Content-Type") || "";
    let data;
    if (type.includes("json")) {
      try {
        data = await response.json();
      } catch (error) {
        return LEAVING; // the body's read was cancelled by the switch
      }
    } else {
      data = { title: "Unexpected answer",
        detail: "Your session may have ended; reload the page." };
    }
    return { ok: response.ok, status: response.status, data };
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function parseTime(iso) {
    return iso ? new Date(iso).getTime() : null;
  }

  /* "20:13:46.164" in UTC, the time zone the whole app runs in. */
  function clock(iso) {
    return iso ? new Date(iso).toISOString().slice(11, 23) : "";
  }

  function delta(fromIso, toIso) {
    const from = parseTime(fromIso);
    const to = parseTime(toIso);
    if (from === null || to === null) return "";
    const ms = Math.max(0, to - from);
    if (ms < 1000) return `+${ms} ms`;
    if (ms < 60000) return `+${(ms / 1000).toFixed(1)} s`;
    return `+${Math.round(ms / 60000)} min`;
  }

  function problemText(result) {
    const data = result.data || {};
    return data.detail || data.title || `HTTP ${result.status}`;
  }

  // A form marked data-once submits once: a double click sends one request.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
    // After this task, so the clicked button's name and value are still sent.
    window.setTimeout(() => {
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-once] button[type=submit]").forEach((b) => {
      b.disabled = false;
    });
  });

  window.Demo = { api, el, clock, delta, parseTime, problemText, newKey };
})();
