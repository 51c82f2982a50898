// The wallboard: reads the viewer token from the address's fragment (#token=...), then
// follows /api/wallboard/stream (Server-Sent Events, read with fetch so that the token
// goes in the Authorization header) and redraws on each snapshot. No page reload.
"use strict";

const STATES = { available: "available 空闲", busy: "on a call 通话", ringing: "ringing 振铃",
                 paused: "paused 暂停", logged_out: "logged out 未登录" };

function token() {
  const match = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem("hotline-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", window.location.pathname);  // not left on the screen
  }
  return sessionStorage.getItem("hotline-token");
}

function text(id, value) {
  document.getElementById(id).textContent = value;
}

function seconds(value) {
  if (value === null || value === undefined) return "—";
  const m = Math.floor(value / 60), s = value % 60;
  return m ? `${m}:${String(s).padStart(2, "0")}` : `${s} s`;
}

function draw(board) {
  text("hotline", board.hotline);
  text("day", board.day);
  text("clock", board.at);
  text("waiting", board.waiting);
  text("longest-wait", seconds(board.longest_wait_seconds));
  text("talking", board.talking);
  text("in-ivr", board.in_ivr);
  text("offered", board.offered);
  text("abandoned", board.abandoned);
  text("callbacks-owed", board.callbacks_owed);
  document.getElementById("waiting").parentElement.classList.toggle("alert", board.waiting > 0
    && board.agents_by_state.available === 0);
  const status = document.getElementById("status");
  status.textContent = board.connected ? "live" : "Asterisk not connected";
  status.className = "status " + (board.connected ? "up" : "down");
  const rates = document.getElementById("rates");
  rates.replaceChildren(...board.rates.map((rate) => {
    const tile = document.createElement("div");
    tile.className = "rate " + (rate.met === true ? "met" : rate.met === false ? "missed" : "none");
    tile.dataset.rate = rate.name;
    tile.innerHTML = '<div class="label"></div><div class="value"></div><div class="target"></div>';
    tile.querySelector(".label").textContent = rate.title;
    tile.querySelector(".value").textContent = rate.shown;
    const calls = rate.unit === "share" ? `${rate.numerator} / ${rate.denominator}`
      : `${rate.denominator} calls`;
    tile.querySelector(".target").textContent = `target ${rate.target_shown} · ${calls}`;
    return tile;
  }));
  const agents = document.getElementById("agents");
  agents.replaceChildren(...board.agents.map((agent) => {
    const item = document.createElement("li");
    item.className = agent.state;
    item.dataset.endpoint = agent.endpoint;
    item.innerHTML = '<span class="name"></span><span class="state"></span>';
    item.querySelector(".name").textContent = agent.name;
    item.querySelector(".state").textContent = STATES[agent.state] || agent.state;
    return item;
  }));
  const s = board.agents_by_state;
  text("agents-summary", `· ${s.logged_in} logged in, ${s.available} available, ${s.busy} on a call`);
  const notice = document.getElementById("notice");
  notice.hidden = !board.roster_notice;
  notice.textContent = board.roster_notice || "";
  const announcement = document.getElementById("announcement");
  announcement.hidden = !board.announcement;
  announcement.textContent = board.announcement || "";
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}

async function main() {
  const secret = token();
  if (!secret) {
    document.getElementById("login").hidden = false;
    return;
  }
  await followEvents("/api/wallboard/stream", secret, "hotline-token", draw);
}

main();
