/* The fault lab: one payment and one consumer under test, a live status strip,
   and the controls. Each control calls the app's own JSON endpoints (the API's
   fault controls, or the lab's) and says what happened and why the system
   stayed correct, or why it was refused. The page renders the controls you may
   not use disabled, with the reason; the server refuses them anyway.
   See docs/lessons/fault-controls.md and docs/demo.md. */
"use strict";

(function () {
  const lab = document.querySelector("[data-lab]");
  if (!lab || !window.Demo) return;
  const { api, el, problemText } = window.Demo;
  const paymentSelect = lab.querySelector("[data-payment-select]");
  const consumerSelect = lab.querySelector("[data-consumer-select]");
  const paymentLink = lab.querySelector("[data-payment-link]");
  const miniFlow = lab.querySelector("[data-mini-flow]");
  let flow = null; // the payment under test, as /payments/<id>/flow.json returns it
  let tally = null; // {consumer, since, result} while a replay is being watched

  const LABELS = {
    applied: "applied",
    skipped_duplicate: "skipped (duplicate)",
    parked: "parked",
    failed: "failed, retrying",
    dead_lettered: "dead-lettered",
  };

  function consumer() {
    return consumerSelect.value;
  }

  function payment() {
    return paymentSelect.value;
  }

  function setPayment(id, label, status) {
    if (id && !Array.from(paymentSelect.options).some((o) => o.value === id)) {
      const option = new Option(`${label} · ${status}`, id);
      option.dataset.label = label;
      paymentSelect.add(option, 1);
    }
    paymentSelect.value = id;
    onPaymentChange();
  }

  function onPaymentChange() {
    const id = payment();
    const url = new URL(window.location.href);
    if (id) url.searchParams.set("payment", id); else url.searchParams.delete("payment");
    url.searchParams.set("consumer", consumer());
    window.history.replaceState(null, "", url);
    paymentLink.hidden = !id;
    if (id) paymentLink.href = `/payments/${id}#flow`;
    flow = null;
    refreshFlow();
  }

  function syncConsumerNames() {
    lab.querySelectorAll("[data-consumer-name]").forEach((node) => {
      node.textContent = consumer();
    });
  }

  function result(button, ok, what, extra) {
    const box = button.closest(".lab-card, .lab-subject").querySelector("[data-result]");
    box.replaceChildren(el("p", { class: ok ? "ok" : "refused" },
      el("strong", {}, ok ? "What happened: " : "Refused: "), what));
    if (extra) box.append(extra);
    return box;
  }

  function latestEvent() {
    if (!flow || !flow.events.length) return null;
    const published = flow.events.filter((e) => e.published_at);
    return published.length ? published[published.length - 1] : null;
  }

  function paymentMadeText(made) {
    const approved = made.approved_by ? `; ${made.approved_by} approved it` : "";
    return `${made.submitted_by} submitted ${made.amount} to ${made.creditor}${approved}. ` +
      "Its events are in the outbox, committed with the payment.";
  }

  const ACTIONS = {
    async "new-payment"() {
      return madePayment(await api("POST", "/lab/payments", {}));
    },
    async approve() {
      if (!payment()) return refuse("Choose or create a payment first.");
      const answer = await api("POST", `/lab/payments/${payment()}/approve`);
      if (answer.ok) refreshFlow();
      return [answer, answer.ok ? paymentMadeText(answer.data) : null];
    },
    async pause() {
      const answer = await api("POST", `/api/v1/consumers/${consumer()}/pause`);
      return [answer, answer.ok ? answer.data.detail : null];
    },
    async resume() {
      const answer = await api("POST", `/api/v1/consumers/${consumer()}/resume`);
      return [answer, answer.ok ? answer.data.detail : null];
    },
    async redeliver() {
      const event = latestEvent();
      if (!event) return refuse("The payment under test has no published event yet.");
      const answer = await api("POST", `/api/v1/events/${event.id}/redeliver`);
      return [answer, answer.ok ? answer.data.detail : null];
    },
    async reverse() {
      if (!payment()) return refuse("Choose or create a payment first.");
      const answer = await api("POST", `/api/v1/payments/${payment()}/deliver-reversed`,
        { consumer: consumer() });
      return [answer, answer.ok ? answer.data.detail : null];
    },
    async "replay-organisation"() {
      return replayed(await api("POST", "/lab/replay", { consumer: consumer() }));
    },
    async "replay-payment"() {
      if (!payment()) return refuse("Choose or create a payment first.");
      return replayed(await api("POST", "/lab/replay",
        { consumer: consumer(), payment_id: payment() }));
    },
    async poison() {
      if (!payment()) return refuse("Choose or create a payment first.");
      const answer = await api("POST", "/lab/poison",
        { consumer: consumer(), payment_id: payment() });
      return [answer, answer.ok ? answer.data.detail : null];
    },
    async redrive(button) {
      const answer = await api("POST",
        `/api/v1/consumers/${consumerOf(button)}/dead-letters/redrive`, {});
      const why = button.closest("#poison")
        ? " A message that breaks its contract is dead-lettered again: redriving helps only when the fault is gone, and this one travels inside the message."
        : " The upgraded consumer reads the version now: it applies the event once, then any event it had parked behind it.";
      return [answer, answer.ok ? answer.data.detail + why : null];
    },
    async repair() {
      const answer = await api("POST", "/lab/repair", { consumer: consumer() });
      return [answer, answer.ok
        ? `${answer.data.detail} The consumer applies the event as committed, then any event it had parked behind it.`
        : null];
    },
    async "producer-v1"() {
      return producerVersion(1);
    },
    async "producer-v2"() {
      return producerVersion(2);
    },
    async "reads-v1"(button) {
      const answer = await api("POST", `/api/v1/consumers/${consumerOf(button)}/reads`,
        { event_type: "PaymentApproved", version: 1 });
      return [answer, answer.ok ? answer.data.detail : null];
    },
    async upgrade(button) {
      const answer = await api("POST", `/api/v1/consumers/${consumerOf(button)}/reads`,
        { event_type: "PaymentApproved", version: null });
      return [answer, answer.ok ? answer.data.detail : null];
    },
    async "statement-line"() {
      if (!payment()) return refuse("Choose or create a payment first.");
      const answer = await api("GET",
        `/api/v1/settlement-lines?payment=${encodeURIComponent(payment())}`);
      return [answer, answer.ok ? statementLineText(answer.data.results) : null];
    },
    async bank(button) {
      const answer = await api("POST", "/lab/bank", JSON.parse(button.dataset.bank || "{}"));
      return [answer, answer.ok ? answer.data.detail : null];
    },
    async reprocess() {
      const files = await api("GET", "/api/v1/settlement-files?page_size=1");
      if (!files.ok) return [files, null];
      const newest = files.data.results[0];
      if (!newest) return refuse("No statement has arrived yet: ask the bank for one first.");
      const answer = await api("POST", `/api/v1/settlement-files/${newest.id}/reprocess`);
      return [answer, answer.ok
        ? `Asked to process the statement of ${newest.received_at} again (SettlementFileReprocessRequested). Its lines keep their outcomes and no payment settles twice; a line still waiting is matched if its payment is now known.`
        : null];
    },
    async "relay-stop"() {
      const answer = await api("POST", "/lab/relay", { paused: true });
      return [answer, answer.ok ? answer.data.detail : null];
    },
    async "relay-start"() {
      const answer = await api("POST", "/lab/relay", { paused: false });
      return [answer, answer.ok ? answer.data.detail : null];
    },
  };

  async function producerVersion(version) {
    const answer = await api("POST", "/api/v1/event-versions/PaymentApproved", { version });
    return [answer, answer.ok
      ? `Payments publishes PaymentApproved v${answer.data.version} from its next approval on (no restart). Events already written keep the version they were written in.`
      : null];
  }

  // A card about one consumer names it on its buttons; the others use the picker.
  function consumerOf(button) {
    return button.dataset.consumer || consumer();
  }

  const LINE_OUTCOMES = {
    matched: "matched: the payment is settled",
    unknown_payment: "waiting as unknown payment: settlement does not expect it yet",
    amount_mismatch: "an amount mismatch: nothing settles",
    duplicate: "a duplicate: the payment was already settled by another line",
    not_a_payment: "not a payment",
  };

  function statementLineText(lines) {
    if (!lines.length) {
      return "No statement line names this payment yet: the bank answers a few seconds after the gateway's cut-off.";
    }
    return lines.map((line) =>
      `Line ${line.index + 1} of statement ${line.file.slice(0, 8)}: ${LINE_OUTCOMES[line.outcome] || line.outcome}.`
    ).join(" ");
  }

  function refuse(text) {
    return [{ ok: false, status: 0, data: { detail: text } }, null];
  }

  function madePayment(answer) {
    if (answer.ok) {
      const made = answer.data;
      setPayment(made.id, `${made.amount} to ${made.creditor}`, made.status.replace("_", " "));
    }
    return [answer, answer.ok ? paymentMadeText(answer.data) : null];
  }

  function replayed(answer) {
    if (answer.ok) {
      tally = { consumer: answer.data.consumer, since: answer.data.started_at, sent: answer.data.sent };
    }
    return [answer, answer.ok ? answer.data.detail : null];
  }

  lab.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = ACTIONS[button.dataset.action];
    if (!action) return;
    // A replay's tally counts deliveries since the replay: stop once anything else runs.
    if (!button.dataset.action.startsWith("replay")) tally = null;
    button.disabled = true;
    try {
      const [answer, text] = await action(button);
      const box = result(button, answer.ok, answer.ok ? text : problemText(answer));
      if (answer.ok && button.dataset.action.startsWith("replay")) box.append(el("p", { "data-tally": "" }, "Counting deliveries…"));
      if (answer.ok) window.setTimeout(refreshFlow, 300);
    } finally {
      button.disabled = false; // a disabled button (not yours to use) never gets here
    }
  });

  function badge(kind, text) {
    return el("span", { class: `badge status-${kind}` }, text);
  }

  function renderMiniFlow() {
    const columns = 2 + (flow ? flow.consumers.length : 3);
    if (!flow) {
      miniFlow.replaceChildren(el("tr", {}, el("td", { colspan: columns, class: "muted" },
        payment() ? "Loading…" : "Choose or create a payment.")));
      return;
    }
    if (!flow.events.length) {
      miniFlow.replaceChildren(el("tr", {}, el("td", { colspan: columns, class: "muted" }, "No events yet.")));
      return;
    }
    miniFlow.replaceChildren(...flow.events.map((event) => el("tr", { "data-event-type": event.type },
      el("th", { scope: "row" }, `#${event.sequence} ${event.type} `,
        el("span", { class: "meta", "data-version": event.version }, `v${event.version}`)),
      el("td", {}, event.published_at ? badge("published", "published")
        : badge("pending", flow.relay.paused ? "in the outbox (relay stopped)" : "in the outbox")),
      flow.consumers.map((c) => {
        const mine = event.deliveries.filter((d) => d.consumer === c.name);
        const last = mine[mine.length - 1];
        if (!(c.name in event.queues) && !last) {
          return el("td", { "data-consumer": c.name, "data-unbound": "" }, el("span", { class: "muted" }, "not bound"));
        }
        if (!event.published_at) return el("td", { "data-consumer": c.name }, el("span", { class: "muted" }, "—"));
        if (!last) return el("td", { "data-consumer": c.name }, badge("pending", c.paused ? "waiting (paused)" : "waiting"));
        const unsupported = last.error && last.error.startsWith("unsupported-version");
        const reads = (c.reads || {})[event.type];
        const upcast = last.status === "applied" && reads > event.version ? ` (upcast to v${reads})` : "";
        return el("td", { "data-consumer": c.name, "data-status": last.status, title: last.error || "" },
          badge(last.status, unsupported ? "dead-lettered: unsupported version"
            : (LABELS[last.status] || last.status) + upcast),
          mine.length > 1 ? el("span", { class: "meta" }, ` ${mine.length} deliveries`) : null);
      }))));
  }

  async function refreshFlow() {
    const id = payment();
    if (!id) { flow = null; renderMiniFlow(); return; }
    const answer = await api("GET", `/payments/${id}/flow.json`);
    if (answer.ok && payment() === id) {
      flow = answer.data;
      const option = paymentSelect.selectedOptions[0];
      if (option && option.dataset.label) {
        option.textContent = `${option.dataset.label} · ${flow.payment.status.replace("_", " ")}`;
      }
    }
    renderMiniFlow();
  }

  async function refreshStatus() {
    const consumers = await api("GET", "/api/v1/consumers");
    if (consumers.ok) {
      for (const c of consumers.data.results) {
        const item = lab.querySelector(`[data-strip-consumer="${c.name}"]`);
        if (!item) continue;
        const state = item.querySelector('[data-field="state"]');
        const kind = c.paused ? "parked" : c.running ? "applied" : "dead_lettered";
        state.className = `badge status-${kind}`;
        state.textContent = c.paused ? "paused" : c.running ? "running" : "no worker";
        // An operator's backlog is the broker's (every organisation's); a
        // member's is their organisation's events the consumer has not reached.
        const backlog = c.backlog === null ? "?" : c.backlog;
        item.querySelector('[data-field="numbers"]').textContent =
          `backlog ${backlog} · dead-lettered ${c.dead_lettered} · parked ${c.parked}`;
      }
    }
    const query = tally ? `?consumer=${encodeURIComponent(tally.consumer)}&since=${encodeURIComponent(tally.since)}` : "";
    const state = await api("GET", `/lab/state${query}`);
    if (!state.ok) return;
    const relay = lab.querySelector("[data-relay-state]");
    const badgeNode = relay.querySelector('[data-field="relay"]');
    const r = state.data.relay;
    badgeNode.className = `badge status-${r.paused ? "parked" : r.running ? "applied" : "dead_lettered"}`;
    badgeNode.textContent = r.paused ? "stopped" : r.running ? "running" : "not running";
    relay.querySelector('[data-field="outbox"]').textContent = `outbox: ${state.data.outbox_waiting} waiting`;
    if (tally && state.data.tally) {
      const t = state.data.tally;
      const node = lab.querySelector("[data-tally]");
      if (node) {
        const skipped = t.skipped_duplicate || 0;
        const applied = t.applied || 0;
        node.textContent = `${tally.consumer} so far: ${skipped} skipped as duplicates, ${applied} applied` +
          `${t.parked ? `, ${t.parked} parked` : ""} (of ${tally.sent} sent).`;
      }
    }
  }

  async function loop() {
    await Promise.all([refreshStatus(), refreshFlow()]);
    window.setTimeout(loop, document.hidden ? 5000 : 1000);
  }

  // Start from the URL, so a reload keeps the payment and consumer under test.
  const params = new URL(window.location.href).searchParams;
  if (params.get("consumer")) consumerSelect.value = params.get("consumer");
  const wanted = params.get("payment");
  if (wanted && Array.from(paymentSelect.options).some((o) => o.value === wanted)) {
    paymentSelect.value = wanted;
  } else if (!wanted && paymentSelect.options.length > 1) {
    paymentSelect.selectedIndex = 1; // the newest payment
  }
  paymentSelect.addEventListener("change", onPaymentChange);
  consumerSelect.addEventListener("change", () => { syncConsumerNames(); onPaymentChange(); });
  syncConsumerNames();
  paymentLink.hidden = !payment();
  if (payment()) paymentLink.href = `/payments/${payment()}#flow`;
  loop();
})();
