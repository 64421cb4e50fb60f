/* The flow view: one payment's events across the lanes Payments -> Outbox ->
   Relay -> Broker -> each consumer, with timestamps and latencies. Polls the
   flow endpoint every 0.5 s while anything is on its way (or just after an
   action), every 3 s otherwise. See docs/lessons/transactional-outbox.md. */
"use strict";

(function () {
  const section = document.getElementById("flow");
  const initial = document.getElementById("flow-data");
  if (!section || !initial || !window.Demo) return;
  const { api, el, clock, delta, problemText } = window.Demo;

  const body = section.querySelector("[data-flow-body]");
  const liveText = section.querySelector("[data-flow-live-text]");
  const live = section.querySelector("[data-flow-live]");
  const announce = section.querySelector("[data-flow-announce]");
  const result = section.querySelector("[data-flow-result]");
  const url = section.dataset.flowUrl;
  const canRedeliver = section.dataset.redeliver === "yes";
  const FAST = 500;
  const SLOW = 3000;

  let data = JSON.parse(initial.textContent);
  const firstStatus = data.payment.status;
  let watchUntil = 0;
  let stopped = false;
  const rendered = new Map(); // event id -> signature of what is on screen
  const open = new Set(); // event ids whose envelope is unfolded
  const announced = new Set(); // deliveries already on screen
  let initialised = false;

  const STATUS = {
    applied: "applied",
    skipped_duplicate: "skipped (duplicate)",
    parked: "parked",
    failed: "failed, retrying",
    dead_lettered: "dead-lettered",
  };

  function badge(kind, text) {
    return el("span", { class: `badge status-${kind}` }, text);
  }

  function timeEl(iso) {
    return iso ? el("time", { datetime: iso, class: "clock" }, clock(iso)) : null;
  }

  function lane(name, label, ...content) {
    return el("td", { "data-lane": name, "data-label": label }, ...content);
  }

  // The producer's trace id (the envelope's traceparent), linked to the
  // tracing UI when TRACING_UI_URL names one; nothing when tracing was off.
  function traceEl(event) {
    if (!event.trace_id) return null;
    const text = `trace ${event.trace_id}`;
    const url = data.tracing_ui_url;
    return el("span", { class: "meta", "data-trace-id": event.trace_id },
      url
        ? el("a", { href: url.replace("{trace_id}", event.trace_id), target: "_blank", rel: "noopener" }, text)
        : text);
  }

  function paymentsLane(event) {
    const actor = ((event.envelope.data || {}).actor || {}).username;
    const cell = lane("producer", "Payments",
      el("strong", { class: "event-name" }, event.type),
      el("span", { class: "meta" }, `v${event.version} · #${event.sequence}${actor ? ` · by ${actor}` : ""}`),
      timeEl(event.envelope.time),
      traceEl(event));
    if (canRedeliver && event.published_at) {
      const button = el("button", {
        type: "button", class: "button small", "data-redeliver-event": event.id,
        "aria-describedby": "redeliver-help",
      }, "Redeliver");
      cell.append(el("span", { class: "lane-actions" }, button));
    }
    return cell;
  }

  function outboxLane(event) {
    return lane("outbox", "Outbox", badge("committed", "committed"),
      timeEl(event.created_at),
      el("span", { class: "meta" }, "with the payment row"));
  }

  function relayLane(event) {
    if (event.published_at) {
      const attempts = event.attempts > 1 ? ` after ${event.attempts} attempts` : "";
      return lane("relay", "Relay", badge("published", "published"),
        el("span", { class: "latency" }, delta(event.created_at, event.published_at)),
        timeEl(event.published_at),
        attempts ? el("span", { class: "meta" }, attempts.trim()) : null);
    }
    let why = "the relay picks it up within a poll";
    if (data.relay.paused) why = "the relay is stopped (fault lab)";
    else if (!data.relay.running) why = "no relay is running";
    return lane("relay", "Relay", badge("pending", "waiting in the outbox"),
      el("span", { class: "meta" }, why),
      event.last_error ? el("span", { class: "meta error-text" }, event.last_error) : null);
  }

  function brokerLane(event) {
    if (!event.published_at) return lane("broker", "Broker", el("span", { class: "muted" }, "—"));
    return lane("broker", "Broker",
      el("code", { class: "mono" }, event.exchange),
      el("span", { class: "meta" }, "key ", el("code", {}, event.routing_key)),
      el("span", { class: "meta" }, `partition ${event.partition} of each consumer bound to it`));
  }

  function consumerLane(event, consumer) {
    const name = consumer.name;
    const label = name.charAt(0).toUpperCase() + name.slice(1);
    const mine = event.deliveries.filter((d) => d.consumer === name);
    if (!(name in event.queues) && !mine.length) {
      // Its queues are not bound to this type: it reads none of its stream.
      return lane(name, label, el("span", { class: "muted", "data-unbound": "" }, "not bound: reads no event of this stream"));
    }
    if (!event.published_at) {
      return lane(name, label, el("span", { class: "muted" }, "—"));
    }
    if (!mine.length) {
      return lane(name, label,
        badge("pending", consumer.paused ? "paused" : "in its queue"),
        el("span", { class: "meta" }, `waiting in ${event.queues[name]}`));
    }
    const list = el("ul", { class: "deliveries" });
    for (const delivery of mine) {
      // A version this consumer cannot read: dead-lettered, never marked applied.
      const unsupported = delivery.error && delivery.error.startsWith("unsupported-version");
      list.append(el("li", { "data-status": delivery.status, "data-unsupported": unsupported ? "" : null },
        badge(delivery.status, unsupported ? "dead-lettered: unsupported version"
          : STATUS[delivery.status] || delivery.status),
        el("span", { class: "latency", title: clock(delivery.at) },
          delta(event.published_at, delivery.at)),
        delivery.error ? el("span", { class: "meta error-text" }, delivery.error) : null));
    }
    const applied = mine.some((d) => d.status === "applied");
    const reads = (consumer.reads || {})[event.type];
    return lane(name, label, list,
      applied ? el("span", { class: "meta effect" }, event.effects[name]) : null,
      applied && reads > event.version
        ? el("span", { class: "meta", "data-upcast": "" }, `read as v${reads} (upcast from v${event.version})`)
        : null);
  }

  function detailRow(event, columns) {
    const { data: payload, ...attributes } = event.envelope;
    const details = el("details", { "data-envelope": event.id },
      el("summary", {}, `Envelope and payload of ${event.type} #${event.sequence}`),
      el("div", { class: "json-pair" },
        el("div", {}, el("h3", {}, "Envelope (CloudEvents attributes)"),
          el("pre", { class: "json" }, JSON.stringify(attributes, null, 2))),
        el("div", {}, el("h3", {}, `Payload: ${event.type} v${event.version}`),
          el("pre", { class: "json" }, JSON.stringify(payload, null, 2)))));
    if (open.has(event.id)) details.open = true;
    details.addEventListener("toggle", () => {
      if (details.open) open.add(event.id); else open.delete(event.id);
    });
    return el("tr", { class: "event-detail", "data-detail-for": event.id },
      el("td", { colspan: columns }, details));
  }

  function render() {
    const columns = 4 + data.consumers.length;
    const context = JSON.stringify([data.relay.paused, data.relay.running, data.consumers]);
    const seen = new Set();
    let previous = null;
    for (const event of data.events) {
      seen.add(event.id);
      const signature = context + JSON.stringify(event);
      let row = body.querySelector(`tr.event-row[data-event-id="${event.id}"]`);
      if (!row || rendered.get(event.id) !== signature) {
        const focused = document.activeElement && row && row.contains(document.activeElement)
          ? document.activeElement.getAttribute("data-redeliver-event") : null;
        const fresh = el("tr", { class: "event-row", "data-event-id": event.id,
          "data-event-type": event.type, "data-sequence": event.sequence },
        paymentsLane(event), outboxLane(event), relayLane(event), brokerLane(event),
        data.consumers.map((consumer) => consumerLane(event, consumer)));
        const detail = detailRow(event, columns);
        if (row) {
          const oldDetail = body.querySelector(`tr[data-detail-for="${event.id}"]`);
          row.replaceWith(fresh);
          if (oldDetail) oldDetail.replaceWith(detail); else fresh.after(detail);
        } else if (previous) {
          previous.after(fresh);
          fresh.after(detail);
        } else {
          body.prepend(fresh);
          fresh.after(detail);
        }
        if (focused) {
          const again = fresh.querySelector(`[data-redeliver-event="${focused}"]`);
          if (again) again.focus();
        }
        rendered.set(event.id, signature);
        row = fresh;
      }
      previous = body.querySelector(`tr[data-detail-for="${event.id}"]`) || row;
      announceChanges(event);
    }
    for (const id of Array.from(rendered.keys())) {
      if (seen.has(id)) continue;
      body.querySelectorAll(`[data-event-id="${id}"], [data-detail-for="${id}"]`)
        .forEach((node) => node.remove());
      rendered.delete(id);
    }
    if (!data.events.length) {
      if (!body.querySelector(".flow-empty")) {
        body.append(el("tr", { class: "flow-empty" },
          el("td", { colspan: columns }, "No events yet.")));
      }
    } else {
      body.querySelectorAll(".flow-empty").forEach((node) => node.remove());
    }
    if (data.payment.status !== firstStatus && result.hidden) {
      showResult(`The payment is now ${data.payment.status.replace("_", " ")}; reload the page to see its new details.`);
    }
  }

  function announceChanges(event) {
    for (const delivery of event.deliveries) {
      const key = `${event.id}:${delivery.consumer}:${delivery.at}:${delivery.status}`;
      if (announced.has(key)) continue;
      announced.add(key);
      if (initialised && announce) {
        announce.textContent = `${delivery.consumer}: ${STATUS[delivery.status] || delivery.status}, ${event.type} #${event.sequence}`;
      }
    }
  }

  function showResult(text, link) {
    result.replaceChildren(text);
    if (link) result.append(" ", el("a", { href: link.href }, link.text));
    result.hidden = false;
  }

  function fast() {
    return data.pending || Date.now() < watchUntil;
  }

  function schedule() {
    if (stopped) return;
    const quick = fast();
    live.classList.toggle("is-fast", quick);
    liveText.textContent = quick ? "Live: updating every 0.5 s" : "Up to date; checking every 3 s";
    window.setTimeout(poll, quick ? FAST : SLOW);
  }

  async function poll() {
    if (document.hidden && !fast()) {
      schedule();
      return;
    }
    const answer = await api("GET", url);
    if (answer.ok) {
      data = answer.data;
      render();
    } else if ([401, 403, 404].includes(answer.status)) {
      stopped = true;
      live.classList.remove("is-fast");
      liveText.textContent = `Stopped: ${problemText(answer)}`;
      return;
    } else {
      liveText.textContent = `Retrying: ${problemText(answer)}`;
    }
    schedule();
  }

  body.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-redeliver-event]");
    if (!button) return;
    button.disabled = true;
    const id = button.getAttribute("data-redeliver-event");
    const answer = await api("POST", `/api/v1/events/${id}/redeliver`);
    button.disabled = false;
    if (answer.ok) {
      watchUntil = Date.now() + 10000;
      showResult(`Redelivered ${answer.data.type} #${answer.data.sequence}: one more copy went to every consumer. Each finds the event in its inbox and records it as skipped (duplicate), so there is no second journal entry, e-mail or expectation.`,
        { href: "/docs/lessons/idempotent-consumers.md", text: "Walkthrough: idempotent consumers" });
    } else {
      showResult(`Not redelivered: ${problemText(answer)}`);
    }
  });

  render();
  // The first render is not news: only deliveries that arrive later are announced.
  initialised = true;
  schedule();
})();
