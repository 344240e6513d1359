"""The HTML report's inline stylesheet and episode-viewer script (no framework, no CDN, no network).

Why Python strings and not package files: the page must be one self-contained file that opens offline from
``file://``, and keeping the assets here means an installed wheel always carries them. The script reads its
data from a ``<script type="application/json" id="viewer-data">`` tag and only ever writes ``textContent``,
so nothing a model wrote can become markup. It knows no task: each split's ``view`` (a task's ``StateView``)
says whether a drawn state is a grid of cells (their roles and glyphs in its legend), a row of tiles or text.
"""

from __future__ import annotations

CSS = """
:root { --fg: #1d2125; --muted: #5f6b76; --line: #d5dbe1; --pass: #1a7f37; --fail: #c62828; --nr: #8a6d00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; padding: 1rem 2rem 4rem; max-width: 1500px; }
h1 { margin: .2rem 0; } h2 { margin-top: 2.2rem; border-bottom: 2px solid var(--line); padding-bottom: .2rem; }
nav a { margin-right: 1rem; } .muted { color: var(--muted); } code, pre { font-family: ui-monospace, monospace; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; vertical-align: top; text-align: left; }
thead th { background: #f3f5f7; }
.scroll { overflow-x: auto; }
table.t1 td { min-width: 7.5rem; font-variant-numeric: tabular-nums; }
table.t1 th.cat { text-align: center; }
table.t1 tr.study-only td, table.t1 tr.study-only th { color: var(--muted); font-style: italic; }
.s { font-weight: 600; } .ci, .v, .st { font-size: 11.5px; color: var(--muted); }
.d-pos { color: var(--pass); } .d-neg { color: var(--fail); }
.badge { display: inline-block; min-width: 4.8rem; text-align: center; border-radius: 4px; color: #fff;
         font-weight: 700; font-size: 12px; padding: 1px 6px; margin-right: .4rem; }
.PASS { background: var(--pass); } .FAIL { background: var(--fail); } .NOT-RUN { background: var(--nr); }
ul.findings > li { margin-bottom: .6rem; } ul.checks { margin: .2rem 0; } ul.checks li { color: #333; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 12px; }
#viewer .controls { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; margin-bottom: .6rem; }
#viewer select { max-width: 32rem; }
#viewer .stage { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
#viewer-board { display: inline-grid; gap: 2px; background: #444; padding: 2px; border-radius: 4px; }
.cell { width: 30px; height: 30px; display: flex; align-items: center; justify-content: center;
        font-size: 18px; font-weight: 700; background: #f2efe6; }
.cell.wall { background: #5b5b66; } .cell.target { color: #d33; } .cell.box { background: #c58b3c; color: #fff; }
.cell.box-on-target { background: #2e9e4f; color: #fff; } .cell.player { color: #1f5fbf; }
.cell.player-on-target { color: #1f5fbf; box-shadow: inset 0 0 0 3px #d33; }
.hand { display: flex; gap: .4rem; }
.card { width: 44px; height: 60px; border: 1px solid #888; border-radius: 5px; display: flex; align-items: center;
        justify-content: center; font-size: 20px; font-weight: 700; background: #fff; }
#viewer-turn-panel { min-width: 26rem; max-width: 60rem; flex: 1; }
#viewer-turn-panel pre { white-space: pre-wrap; word-break: break-word; background: #f6f8fa; padding: .4rem;
                         margin: 0; max-height: 18rem; overflow: auto; }
.ok { color: var(--pass); font-weight: 700; } .bad { color: var(--fail); font-weight: 700; }
details pre { white-space: pre-wrap; background: #f6f8fa; padding: .5rem; max-height: 24rem; overflow: auto; }
"""

JS = r"""
(function () {
  "use strict";
  var node = document.getElementById("viewer-data");
  if (!node) { return; }
  var data = JSON.parse(node.textContent);
  var S = data.strings;
  function str(i) { return i < 0 ? null : S[i]; }
  function $(id) { return document.getElementById(id); }
  var runSel = $("viewer-run"), splitSel = $("viewer-split"), epSel = $("viewer-episode");
  var frame = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function option(sel, value, text) { var o = el("option", null, text); o.value = value; sel.appendChild(o); }
  function run() { return data.runs[Number(runSel.value)]; }
  function split() { return run().splits[splitSel.value]; }
  function episode() { return split().episodes[Number(epSel.value)]; }
  function nFrames(ep) { return Math.max(ep.frames.length, 1); }
  function num(x, digits) { return (x === null || x === undefined) ? "\u2013" : Number(x).toFixed(digits); }

  function fillSplits() {
    splitSel.textContent = "";
    Object.keys(run().splits).forEach(function (name) {
      var sp = run().splits[name];
      option(splitSel, name, name + " (" + sp.episodes.length + " of " + sp.total + ")");
    });
    fillEpisodes();
  }
  function fillEpisodes() {
    epSel.textContent = "";
    split().episodes.forEach(function (ep, i) {
      var mark = ep.ok ? "\u2713 solved" : "\u2717 not solved";
      option(epSel, i, "#" + ep.i + " " + mark + " \u00B7 " + ep.turns.length + " turn(s)");
    });
    frame = 0;
    render();
  }

  function renderGrid(board, rows, legend) {
    var lines = rows.split("\n");
    board.style.display = "";
    board.style.gridTemplateColumns = "repeat(" + lines[0].length + ", 30px)";
    lines.forEach(function (line) {
      Array.from(line).forEach(function (ch) {
        var spec = legend[ch] || ["floor", ch];
        var cell = el("div", "cell " + spec[0], spec[1]);
        cell.title = ch;
        board.appendChild(cell);
      });
    });
  }
  function renderState(view, text) {
    var board = $("viewer-board"), hand = $("viewer-hand");
    board.textContent = "";
    board.style.display = "none";
    hand.textContent = "";
    $("viewer-board-note").textContent = text === null ? "state not recorded" : (view.note || "");
    if (text === null) { return; }
    if (view.kind === "grid") { renderGrid(board, text, view.legend); }
    else if (view.kind === "tiles") {
      text.split(" ").forEach(function (label) { hand.appendChild(el("div", "card", label)); });
    }
    else { hand.appendChild(el("pre", "frame", text)); }
  }
  function row(table, name, value, cls) {
    var tr = el("tr"); tr.appendChild(el("th", null, name));
    var td = el("td", cls || null);
    if (value instanceof Node) { td.appendChild(value); } else { td.textContent = value; }
    tr.appendChild(td); table.appendChild(tr);
  }
  function renderTurn(ep) {
    var panel = $("viewer-details");
    panel.textContent = "";
    var total = nFrames(ep), label;
    var t = frame < ep.turns.length ? ep.turns[frame] : null;
    if (t) {
      label = "turn " + (frame + 1) + " / " + ep.turns.length;
      row(panel, "response", el("pre", null, str(t[0])));
      row(panel, "answer", str(t[1]) === null ? "(no answer tag)" : str(t[1]));
      row(panel, "parsed", str(t[2]) === null ? "\u2013" : str(t[2]));
      row(panel, "valid", t[3] ? "\u2713 valid" : "\u2717 invalid", t[3] ? "ok" : "bad");
      row(panel, "reward", num(t[4], 2));
      row(panel, "outcome", str(t[6]));
      row(panel, "reason", str(t[5]) === null ? "\u2013" : str(t[5]));
      row(panel, "response length", t[7] + " characters");
    } else {
      label = "end of episode (after " + ep.turns.length + " turns)";
      row(panel, "result", ep.ok ? "\u2713 solved" : "\u2717 not solved", ep.ok ? "ok" : "bad");
    }
    row(panel, "episode", "success " + (ep.ok ? "yes" : "no") + " \u00B7 validity " + num(ep.val, 2) +
        " \u00B7 return " + num(ep.ret, 2));
    $("viewer-turn").textContent = label;
    $("viewer-prev").disabled = frame === 0;
    $("viewer-first").disabled = frame === 0;
    $("viewer-next").disabled = frame >= total - 1;
    $("viewer-last").disabled = frame >= total - 1;
  }
  function render() {
    var sp = split(), ep = episode();
    $("viewer-declared").textContent = sp.view.declared || "";
    $("viewer-prompt").textContent = str(sp.prompt) || "";
    renderState(sp.view, ep.frames.length ? str(ep.frames[Math.min(frame, ep.frames.length - 1)]) : null);
    renderTurn(ep);
  }
  function go(to) { var n = nFrames(episode()); frame = Math.max(0, Math.min(n - 1, to)); render(); }

  if (!data.runs.length) { $("viewer").querySelector(".controls").textContent = "No episodes were embedded."; return; }
  data.runs.forEach(function (r, i) { option(runSel, i, r.label); });
  runSel.addEventListener("change", fillSplits);
  splitSel.addEventListener("change", fillEpisodes);
  epSel.addEventListener("change", function () { frame = 0; render(); });
  $("viewer-first").addEventListener("click", function () { go(0); });
  $("viewer-prev").addEventListener("click", function () { go(frame - 1); });
  $("viewer-next").addEventListener("click", function () { go(frame + 1); });
  $("viewer-last").addEventListener("click", function () { go(1e9); });
  $("viewer").addEventListener("keydown", function (ev) {
    if (ev.target.tagName === "SELECT") { return; }
    if (ev.key === "ArrowRight") { go(frame + 1); ev.preventDefault(); }
    if (ev.key === "ArrowLeft") { go(frame - 1); ev.preventDefault(); }
  });
  fillSplits();
})();
"""
