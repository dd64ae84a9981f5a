// nerwin's page: POST the text to /ner and show it with its entities highlighted.
// User text only ever enters the page as text (textContent, text nodes), never as HTML.
"use strict";

const colours = new Map();   // entity type -> background, one colour per type, as --format html

function colour(label) {
  if (!colours.has(label)) {
    colours.set(label, `hsl(${Math.round(colours.size * 137.508 % 360)},75%,82%)`);
  }
  return colours.get(label);
}

function swatch(label, text) {
  const m = document.createElement("mark");
  m.className = "e";
  m.dataset.label = label;
  m.style.background = colour(label);
  m.textContent = text;
  return m;
}

function showLegend(labels) {
  document.getElementById("legend").replaceChildren(...labels.map((label) => swatch(label, label)));
}

// Offsets from the server count code points (Python str indices); JavaScript strings count
// UTF-16 units, so the text is cut as an array of code points.
function render(text, entities) {
  const chars = Array.from(text);
  const out = document.getElementById("output");
  const pieces = [];
  let at = 0;
  for (const e of entities) {
    pieces.push(document.createTextNode(chars.slice(at, e.start).join("")));
    const m = swatch(e.label, chars.slice(e.start, e.end).join(""));
    const sub = document.createElement("sub");
    sub.textContent = e.label;
    m.append(sub);
    m.title = `${e.label} ${e.score.toFixed(2)}`;
    m.dataset.start = e.start;
    m.dataset.end = e.end;
    pieces.push(m);
    at = e.end;
  }
  pieces.push(document.createTextNode(chars.slice(at).join("")));
  out.replaceChildren(...pieces);
}

function status(message, error) {
  const s = document.getElementById("status");
  s.textContent = message;
  s.className = error ? "error" : "";
}

async function tag() {
  const text = document.getElementById("text").value;
  const button = document.getElementById("tag");
  button.disabled = true;
  status("Tagging…");
  try {
    const response = await fetch("/ner", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({text}),
    });
    const body = await response.json();
    if (!response.ok) {
      throw new Error(body.error || `HTTP ${response.status}`);
    }
    render(text, body.entities);
    const n = body.entities.length;
    status(`${n} ${n === 1 ? "entity" : "entities"}`);
  } catch (err) {
    status(`Error: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}

async function start() {
  document.getElementById("tag").addEventListener("click", tag);
  document.getElementById("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      tag();
    }
  });
  try {
    const model = await (await fetch("/model")).json();
    model.labels.forEach(colour);
    showLegend(model.labels);
  } catch (err) {
    status(`Error: cannot read the model's labels (${err.message})`, true);
  }
  document.body.dataset.ready = "1";
}

start();
