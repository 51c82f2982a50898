// The agent's desk: reads the agent token from the address's fragment (#token=...),
// follows /api/desk/stream (Server-Sent Events read with fetch, so the token goes in the
// Authorization header), pops the call when the agent's phone is answered, and saves
// the call's work order with POST /api/desk/order.
"use strict";

let current = null;  // the call on the desk now

function token() {
  const match = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem("hotline-desk-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", window.location.pathname);  // not left on the screen
  }
  return sessionStorage.getItem("hotline-desk-token");
}

function text(id, value) {
  document.getElementById(id).textContent = value === null || value === undefined ? "—" : value;
}

function items(id, rows, show) {
  document.getElementById(id).replaceChildren(...rows.map((row) => {
    const item = document.createElement("li");
    item.textContent = show(row);
    return item;
  }));
}

function showOrder(order) {
  text("order-id", order ? "#" + order.id : "(new 新建)");
  text("order-status", order ? order.status : "");
}

function draw(view) {
  text("agent", view.agent);
  const status = document.getElementById("status");
  status.textContent = "live";
  status.className = "status up";
  const call = view.call;
  document.getElementById("idle").hidden = Boolean(call);
  document.getElementById("call").hidden = !call;
  if (!call) return;
  const fresh = !current || current.linkedid !== call.linkedid;
  current = call;
  text("caller", call.caller);
  text("answered", call.answered_at);
  text("choice", call.choices.length ? call.choices.join(" → ") : "none 无");
  text("line", call.line);
  document.getElementById("ended").hidden = !call.ended;
  if (fresh) {  // a new call: the form starts from its order (or the IVR's choice)
    const order = view.order;
    document.getElementById("service").value = (order && order.service) || call.service || "repair";
    document.getElementById("urgency").value = (order && order.urgency) || "normal";
    document.getElementById("address").value = (order && order.address) || "";
    document.getElementById("problem").value = (order && order.problem) || "";
    document.getElementById("paid").checked = Boolean(order && order.paid);
    text("saved", "");
    showOrder(order);
  }
  items("open-orders", view.open_orders, (o) =>
    `#${o.id} ${o.service} ${o.status} · ${o.address || "—"} · ${o.problem || "—"}`);
  items("earlier-calls", view.earlier_calls, (c) =>
    `${c.arrived} ${c.service || "—"} ${c.outcome}${c.agent ? " · " + c.agent : ""}`);
  document.body.dataset.call = call.linkedid;
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}

async function save(secret) {
  if (!current) return;
  const body = {
    linkedid: current.linkedid,
    service: document.getElementById("service").value,
    urgency: document.getElementById("urgency").value,
    address: document.getElementById("address").value,
    problem: document.getElementById("problem").value,
    paid: document.getElementById("paid").checked,
  };
  const response = await fetch("/api/desk/order", {
    method: "POST",
    headers: { Authorization: "Bearer " + secret, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (response.ok) {
    showOrder(answer);
    text("saved", "saved 已保存");
    document.body.dataset.saved = String(answer.id);
  } else {
    text("saved", "not saved 未保存: " + answer.detail);
  }
}

async function follow(secret) {
  const response = await fetch("/api/desk/stream", {
    headers: { Authorization: "Bearer " + secret, Accept: "text/event-stream" },
    cache: "no-store",
  });
  if (response.status === 401 || response.status === 403) {
    sessionStorage.removeItem("hotline-desk-token");
    document.getElementById("login").hidden = false;
    return false;
  }
  if (!response.ok || !response.body) throw new Error("stream: " + response.status);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
      if (data.length) draw(JSON.parse(data.join("\n")));
    }
  }
}

async function main() {
  const secret = token();
  if (!secret) {
    document.getElementById("login").hidden = false;
    return;
  }
  document.getElementById("save").addEventListener("click", () => save(secret));
  for (;;) {
    try {
      if (!(await follow(secret))) return;
    } catch (error) {
      const status = document.getElementById("status");
      status.textContent = "reconnecting…";
      status.className = "status down";
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

main();
