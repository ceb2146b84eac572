// The console's small script: live parts from the server's event stream, the photo checked on the
// spot, the simulator's buttons without leaving the page, and the application form's sections.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";

  // -- live parts: <... data-live="NAME"> replaced by the server's rendering of NAME -------------
  const liveUrl = document.body.dataset.liveUrl;
  if (liveUrl && window.EventSource) {
    const status = document.getElementById("live-status");
    const source = new EventSource(liveUrl);
    source.addEventListener("update", function (event) {
      const parts = JSON.parse(event.data);
      for (const name of Object.keys(parts)) {
        for (const target of document.querySelectorAll('[data-live="' + name + '"]')) {
          if (!target.hasAttribute("data-live-frozen")) target.innerHTML = parts[name];
        }
      }
      if (status) { status.classList.remove("lost"); }
      document.body.dataset.liveUpdates = String(Number(document.body.dataset.liveUpdates || "0") + 1);
    });
    source.addEventListener("expired", function () { source.close(); window.location.reload(); });
    source.onerror = function () { if (status) status.classList.add("lost"); };
  }

  // -- forms marked data-async: posted in the background (the live stream shows the effect) --------
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-async")) return;
    event.preventDefault();
    const result = document.getElementById("async-result");
    fetch(form.action, { method: "POST", body: new FormData(form), headers: { "X-CSRF-Token": csrf },
                         credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (!result) return;
        result.textContent = body.ok ? "" : [body.headline].concat(body.reasons || []).join(" ");
      })
      .catch(function (error) { if (result) result.textContent = String(error); });
  });

  // -- the photo, checked as soon as it is chosen --------------------------------------------------
  for (const input of document.querySelectorAll("input[data-photo-check]")) {
    input.addEventListener("change", function () {
      const box = input.form ? input.form.querySelector(".photo-result") : null;
      if (!box || !input.files || !input.files.length) { if (box) box.textContent = ""; return; }
      const body = new FormData();
      body.append("photo", input.files[0]);
      box.textContent = "…";
      fetch(input.dataset.photoCheck, { method: "POST", body: body, headers: { "X-CSRF-Token": csrf },
                                        credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          box.textContent = "";
          const head = document.createElement("strong");
          head.className = answer.ok ? "ok" : "bad";
          head.textContent = answer.headline;
          box.appendChild(head);
          box.dataset.ok = answer.ok ? "1" : "0";
          if (answer.reasons && answer.reasons.length) {
            const list = document.createElement("ul");
            for (const reason of answer.reasons) {
              const item = document.createElement("li");
              item.textContent = reason;
              list.appendChild(item);
            }
            box.appendChild(list);
          }
        })
        .catch(function (error) { box.textContent = String(error); });
    });
  }

  // -- sections shown for one choice only: data-show-when="NAME=VALUE" ------------------------------
  const switches = document.querySelectorAll("[data-show-when]");
  function refresh() {
    for (const section of switches) {
      const [name, value] = section.dataset.showWhen.split("=");
      const chosen = document.querySelector('input[name="' + name + '"]:checked');
      section.classList.toggle("hidden", !chosen || chosen.value !== value);
    }
  }
  if (switches.length) {
    document.addEventListener("change", function (event) {
      if (event.target instanceof HTMLInputElement && event.target.type === "radio") refresh();
    });
    refresh();
  }
})();
