"use strict";
// The built-in pages' live feed (wallboard, desk): server-sent events read from a fetch
// stream, because EventSource cannot send the bearer token. Each `data:` frame goes to
// `draw`; a dropped stream is followed again after 3 s; a refused token shows the login.

async function followOnce(url, secret, tokenKey, draw) {
  const response = await fetch(url, {
    headers: { Authorization: "Bearer " + secret, Accept: "text/event-stream" },
    cache: "no-store",
  });
  if (response.status === 401 || response.status === 403) {
    sessionStorage.removeItem(tokenKey);
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

async function followEvents(url, secret, tokenKey, draw) {
  for (;;) {
    try {
      if (!(await followOnce(url, secret, tokenKey, draw))) return;
    } catch (error) {
      const status = document.getElementById("status");
      status.textContent = "reconnecting…";
      status.className = "status down";
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}
