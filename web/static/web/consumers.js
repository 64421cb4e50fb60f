/* The consumers page: refresh each consumer's state, backlog per partition and
   dead letters from GET /api/v1/consumers every second (the server answers from
   a cache of a few seconds). A member's page has no partition table: the API
   gives them their organisation's counts only, so absent fields are skipped. */
"use strict";

(function () {
  const grid = document.querySelector("[data-consumers]");
  if (!grid || !window.Demo) return;
  const { api, clock, problemText } = window.Demo;
  const brokerError = document.querySelector("[data-broker-error]");
  const url = grid.dataset.url;

  function show(value) {
    return value === null || value === undefined ? "?" : String(value);
  }

  function set(card, name, value) {
    const node = card.querySelector(`[data-field="${name}"]`);
    if (node) node.textContent = show(value);
  }

  function update(overview) {
    const all = [];
    for (const consumer of overview.results) {
      consumer.queues.forEach((q) => all.push(q.backlog || 0));
      all.push(consumer.dead_letter_queue.backlog || 0);
    }
    const most = Math.max(1, ...all);
    for (const consumer of overview.results) {
      const card = grid.querySelector(`[data-consumer="${consumer.name}"]`);
      if (!card) continue;
      const state = card.querySelector('[data-field="state"]');
      let kind = "dead_lettered";
      let text = "no worker";
      if (consumer.paused) { kind = "parked"; text = "paused"; }
      else if (consumer.running) { kind = "applied"; text = "running"; }
      state.className = `badge status-${kind}`;
      state.textContent = text;
      set(card, "backlog", consumer.backlog);
      set(card, "dead", consumer.dead_letter_queue.backlog);
      set(card, "dead_lettered", consumer.dead_lettered);
      set(card, "parked", consumer.parked);
      const queues = [...consumer.queues, consumer.dead_letter_queue];
      if (consumer.retry_queue) queues.push(consumer.retry_queue);
      for (const queue of queues) {
        const row = card.querySelector(`[data-queue="${queue.name}"]`);
        if (!row) continue;
        row.querySelector('[data-field="waiting"]').textContent = show(queue.backlog);
        row.querySelector('[data-field="bar"]').style.setProperty("--fill", String((queue.backlog || 0) / most));
      }
      const beat = card.querySelector('[data-field="heartbeat"]');
      beat.textContent = consumer.heartbeat_at
        ? `last heartbeat ${clock(consumer.heartbeat_at).slice(0, 8)} UTC`
        : "no heartbeat yet";
    }
    brokerError.hidden = !overview.broker_error;
    if (overview.broker_error) brokerError.querySelector("span").textContent = overview.broker_error;
  }

  async function poll() {
    const answer = await api("GET", url);
    if (answer.ok) {
      update(answer.data);
    } else if ([401, 403].includes(answer.status)) {
      brokerError.hidden = false;
      brokerError.textContent = `Stopped refreshing: ${problemText(answer)}`;
      return;
    }
    window.setTimeout(poll, document.hidden ? 5000 : 1000);
  }

  poll();
})();
