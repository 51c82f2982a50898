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

async function main() {
  const secret = token();
  if (!secret) {
    document.getElementById("login").hidden = false;
    return;
  }
  document.getElementById("save").addEventListener("click", () => save(secret));
  await followEvents("/api/desk/stream", secret, "hotline-desk-token", draw);
}

main();
