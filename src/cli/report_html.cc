// report.html of `replikv demo`: one self-contained page (no network) — the table, what it means,
// three kinds of chart drawn as SVG by the page's own script from the results embedded in it, and
// the raw JSON. The script marks each chart it drew (data-drawn) so a headless browser can check.
#include <string>

#include "cli/chaos.h"

namespace replikv::cli {
namespace {

std::string escape_html(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// JSON inside <script>: "</" must not close the element.
std::string script_safe(std::string text) {
  for (size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3))
    text.replace(at, 2, "<\\/");
  return text;
}

constexpr const char* style = R"css(
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: 12px; }
.meaning p { margin: .3em 0; }
svg.chart { background: #fff; border: 1px solid #ddd; margin: .3em 0; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
.axis { stroke: #888; } .grid { stroke: #eee; }
.fault { fill: #f5b7b1; opacity: .45; }
.legend span { display: inline-block; margin-right: 1.2em; }
.legend i { display: inline-block; width: 1em; height: .6em; margin-right: .3em; }
.small { color: #666; font-size: 12px; }
)css";

// Draws every chart from window.REPLIKV (the demo's results). Plain SVG, no library.
constexpr const char* script = R"js(
(function () {
  const demo = JSON.parse(document.getElementById('results').textContent);
  const runs = demo.runs;
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];
  const NS = 'http://www.w3.org/2000/svg';
  function el(parent, name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  }
  function chart(id, width, height) {
    const svg = el(document.getElementById(id), 'svg', {class: 'chart', width: width, height: height,
                                                         viewBox: '0 0 ' + width + ' ' + height});
    return svg;
  }
  function axes(svg, box, xTicks, yTicks, xLabel, yLabel) {
    for (const t of yTicks) {
      el(svg, 'line', {class: 'grid', x1: box.x, x2: box.x + box.w, y1: t.y, y2: t.y});
      el(svg, 'text', {x: box.x - 6, y: t.y + 4, 'text-anchor': 'end'}, t.label);
    }
    for (const t of xTicks) {
      el(svg, 'line', {class: 'axis', x1: t.x, x2: t.x, y1: box.y + box.h, y2: box.y + box.h + 4});
      el(svg, 'text', {x: t.x, y: box.y + box.h + 16, 'text-anchor': 'middle'}, t.label);
    }
    el(svg, 'line', {class: 'axis', x1: box.x, x2: box.x + box.w, y1: box.y + box.h, y2: box.y + box.h});
    el(svg, 'line', {class: 'axis', x1: box.x, x2: box.x, y1: box.y, y2: box.y + box.h});
    el(svg, 'text', {x: box.x + box.w / 2, y: box.y + box.h + 32, 'text-anchor': 'middle'}, xLabel);
    el(svg, 'text', {x: 12, y: box.y + box.h / 2, transform: 'rotate(-90 12 ' + (box.y + box.h / 2) + ')',
                     'text-anchor': 'middle'}, yLabel);
  }
  let drawn = 0;

  // Latency distribution: one line per preset, latency (log scale) against the fraction answered.
  function latency(id, field, title) {
    const svg = chart(id, 520, 300);
    const box = {x: 60, y: 28, w: 430, h: 220};
    el(svg, 'text', {x: box.x, y: 16, 'font-weight': 'bold'}, title);
    let low = Infinity, high = 0;
    for (const r of runs) for (const [q, ms] of r[field].cdf) if (ms > 0) { low = Math.min(low, ms); high = Math.max(high, ms); }
    if (!isFinite(low)) { low = 0.1; high = 1; }
    const lo = Math.floor(Math.log10(low)), hi = Math.max(lo + 1, Math.ceil(Math.log10(high)));
    const x = ms => box.x + box.w * (Math.log10(Math.max(ms, Math.pow(10, lo))) - lo) / (hi - lo);
    const y = q => box.y + box.h * (1 - q);
    const xTicks = [];
    for (let e = lo; e <= hi; ++e) xTicks.push({x: x(Math.pow(10, e)), label: Math.pow(10, e) >= 1 ? String(Math.pow(10, e)) : Math.pow(10, e).toFixed(-e)});
    axes(svg, box, xTicks, [0, .25, .5, .75, .9, 1].map(q => ({y: y(q), label: 'p' + Math.round(q * 100)})),
         'latency, ms (log scale)', 'fraction answered');
    runs.forEach((r, i) => {
      const points = r[field].cdf.filter(p => p[1] > 0).map(p => x(p[1]).toFixed(1) + ',' + y(p[0]).toFixed(1));
      if (points.length) el(svg, 'polyline', {class: 'series', fill: 'none', stroke: colours[i % colours.length],
                                              'stroke-width': 2, points: points.join(' ')});
    });
    svg.setAttribute('data-drawn', 'true');
    ++drawn;
  }

  // Throughput over time per preset, fault windows shaded.
  function throughput() {
    const holder = document.getElementById('throughput');
    runs.forEach((r, i) => {
      const id = 'throughput-' + i;
      const div = document.createElement('div');
      div.id = id;
      holder.appendChild(div);
      const svg = chart(id, 1000, 190);
      const box = {x: 60, y: 24, w: 910, h: 120};
      const bucket = r.throughput.bucket_ms;
      const series = r.throughput.writes.map((w, k) => (w + r.throughput.reads[k]) * 1000 / bucket);
      const writes = r.throughput.writes.map(w => w * 1000 / bucket);
      const seconds = series.length * bucket / 1000;
      const top = Math.max(1, ...series) * 1.1;
      const x = s => box.x + box.w * s / seconds;
      const y = v => box.y + box.h * (1 - v / top);
      el(svg, 'text', {x: box.x, y: 14, 'font-weight': 'bold'}, r.preset + ' — ' + r.settings + ', ' + r.nodes + ' nodes');
      r.faults.forEach((f, n) => {
        const from = f.from_ms / 1000, to = (f.to_ms === null ? seconds * 1000 : f.to_ms) / 1000;
        const rect = el(svg, 'rect', {class: 'fault', x: x(Math.min(from, seconds)), y: box.y,
                                      width: Math.max(1, x(Math.min(to, seconds)) - x(Math.min(from, seconds))), height: box.h});
        el(rect, 'title', {}, f.what);
        el(svg, 'text', {x: x(Math.min(from, seconds)) + 3, y: box.y + 11 + 12 * (n % 3), class: 'small'}, f.what);
      });
      const ticks = [];
      for (let s = 0; s <= seconds; s += Math.max(1, Math.round(seconds / 10))) ticks.push({x: x(s), label: s + ' s'});
      axes(svg, box, ticks, [0, top / 2, top].map(v => ({y: y(v), label: Math.round(v)})), 'time', 'ops/s');
      const line = (values, colour, dash) => el(svg, 'polyline', {class: 'series', fill: 'none', stroke: colour,
        'stroke-width': 1.6, 'stroke-dasharray': dash, points: values.map((v, k) => x((k + 0.5) * bucket / 1000).toFixed(1) + ',' + y(v).toFixed(1)).join(' ')});
      line(series, colours[i % colours.length], '');
      line(writes, '#555', '4 3');
      svg.setAttribute('data-drawn', 'true');
      ++drawn;
    });
  }

  // The anomalies each preset showed, side by side.
  function anomalies() {
    const kinds = [['lost_writes', 'acknowledged writes lost'], ['stale_reads', 'stale reads'],
                   ['session_violations', 'session violations'],
                   ['conflicts_discarded', 'writes discarded (lww)'],
                   ['keys_with_siblings', 'keys left with siblings']];
    for (const r of runs) for (const [k] of kinds) r[k] = r[k] || 0;
    const svg = chart('anomalies', 1000, 260);
    const box = {x: 60, y: 24, w: 910, h: 170};
    let top = 1;
    for (const r of runs) for (const [k] of kinds) top = Math.max(top, r[k]);
    top *= 1.15;
    const group = box.w / runs.length, bar = group / (kinds.length + 1);
    const y = v => box.y + box.h * (1 - v / top);
    axes(svg, box, runs.map((r, i) => ({x: box.x + group * (i + 0.5),
                                        label: r.preset + (r.linearizable === true ? ' (linearizable)' : r.linearizable === false ? ' (not linearizable)' : '')})),
         [0, top / 2, top].map(v => ({y: y(v), label: Math.round(v)})), '', 'count');
    runs.forEach((r, i) => kinds.forEach(([k, label], j) => {
      const bx = box.x + group * i + bar * (j + 0.5);
      const rect = el(svg, 'rect', {class: 'bar', x: bx, y: y(r[k]), width: bar * 0.9, height: Math.max(0, box.y + box.h - y(r[k])),
                                    fill: colours[j]});
      el(rect, 'title', {}, r.preset + ': ' + r[k] + ' ' + label);
      el(svg, 'text', {x: bx + bar * 0.45, y: y(r[k]) - 3, 'text-anchor': 'middle'}, String(r[k]));
    }));
    const legend = document.getElementById('anomalies-legend');
    kinds.forEach(([k, label], j) => { legend.innerHTML += '<span><i style="background:' + colours[j] + '"></i>' + label + '</span>'; });
    svg.setAttribute('data-drawn', 'true');
    ++drawn;
  }

  // Writes discarded resolving conflicts, cumulative over time, for the presets that count them.
  function conflicts() {
    const counting = runs.filter(r => r.strategy === 'multi-leader' && (r.conflicts_series || []).length > 1);
    if (!counting.length) return;
    const svg = chart('conflicts', 1000, 220);
    const box = {x: 60, y: 16, w: 910, h: 160};
    const end = Math.max(1, ...counting.map(r => r.conflicts_series[r.conflicts_series.length - 1][0]));
    const top = Math.max(1, ...counting.map(r => r.conflicts_series[r.conflicts_series.length - 1][1])) * 1.1;
    const x = t => box.x + box.w * t / end, y = v => box.y + box.h * (1 - v / top);
    axes(svg, box, [0, end / 2, end].map(t => ({x: x(t), label: (t / 1000).toFixed(1) + ' s'})),
         [0, top / 2, top].map(v => ({y: y(v), label: Math.round(v)})), 'time', 'discarded');
    counting.forEach(r => {
      const i = runs.indexOf(r);
      el(svg, 'polyline', {class: 'series', fill: 'none', stroke: colours[i % colours.length], 'stroke-width': 2,
                           points: r.conflicts_series.map(([t, v]) => x(t) + ',' + y(v)).join(' ')});
    });
    svg.setAttribute('data-drawn', 'true');
    ++drawn;
  }

  // Leaderless staleness against PBS: the share of reads that missed the last acknowledged write
  // by the time since its acknowledgement (t-visibility), measured (solid) and PBS's closed form
  // (dashed), one colour per (W, R, delivery).
  function pbs() {
    const experiments = demo.pbs || [];
    if (!experiments.length) return;
    const svg = chart('pbs', 1060, 300);
    const box = {x: 60, y: 16, w: 640, h: 230};
    const delays = experiments[0].t_visibility.map(d => d.delay_ms);
    const x = i => box.x + box.w * i / Math.max(1, delays.length - 1), y = v => box.y + box.h * (1 - v);
    axes(svg, box, delays.map((d, i) => ({x: x(i), label: String(d)})),
         [0, .25, .5, .75, 1].map(v => ({y: y(v), label: v.toFixed(2)})),
         'read started t ms after the acknowledgement', 'reads that missed it');
    experiments.forEach((e, i) => {
      const colour = colours[i % colours.length];
      el(svg, 'polyline', {class: 'series', fill: 'none', stroke: colour, 'stroke-width': 2,
                           points: e.t_visibility.map((d, j) => x(j).toFixed(1) + ',' + y(d.miss_rate).toFixed(1)).join(' ')});
      el(svg, 'line', {class: 'predicted', stroke: colour, 'stroke-dasharray': '6 4', x1: x(0),
                       x2: x(delays.length - 1), y1: y(e.predicted), y2: y(e.predicted)});
      el(svg, 'text', {x: box.x + box.w + 12, y: box.y + 14 + 18 * i, fill: colour},
         'N=' + e.n + ' W=' + e.w + ' R=' + e.r + ', to ' + e.delivery + ': ' + e.miss_rate.toFixed(3) +
         ' (PBS ' + e.predicted.toFixed(3) + ')');
    });
    svg.setAttribute('data-drawn', 'true');
    ++drawn;
  }

  const legend = document.getElementById('latency-legend');
  runs.forEach((r, i) => { legend.innerHTML += '<span><i style="background:' + colours[i % colours.length] + '"></i>' + r.preset + '</span>'; });
  latency('write-latency', 'write_latency_ms', 'Write latency (acknowledged writes)');
  latency('read-latency', 'read_latency_ms', 'Read latency');
  throughput();
  anomalies();
  conflicts();
  pbs();
  document.getElementById('status').textContent = 'charts drawn: ' + drawn;
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
)js";

}  // namespace

std::string render_report(const nlohmann::json& demo) {
  const auto& scenario = demo["scenario"];
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  html += "<title>replikv demo — the trade-off, measured</title>\n<style>";
  html += style;
  html +=
      "</style></head>\n<body>\n<h1>replikv demo — performance versus data in sync, "
      "measured</h1>\n";
  html += "<p class=\"small\">Generated " + escape_html(demo["generated"].get<std::string>()) +
          ". Real <code>replikv server</code> processes on loopback; scenario <b>" +
          escape_html(scenario["nemesis"].get<std::string>()) + "</b>" +
          (scenario.contains("description")
               ? " (" + escape_html(scenario["description"].get<std::string>()) + ")"
               : "") +
          ", seed " + std::to_string(scenario["seed"].get<uint64_t>()) + ", " +
          std::to_string(scenario["duration_ms"].get<int64_t>() / 1000) + " s per preset, " +
          std::to_string(scenario["clients"].get<int>()) + " clients, fsync " +
          escape_html(scenario["fsync"].get<std::string>()) +
          ". Every figure comes from the checkers over the recorded history (docs/chaos.md).</p>\n";
  html += "<h2>The table</h2>\n<pre>" + escape_html(demo["table"].get<std::string>()) + "</pre>\n";
  html += "<h2>What it means</h2>\n<div class=\"meaning\">";
  std::string meaning = demo["meaning"].get<std::string>();
  for (size_t start = 0, end; start < meaning.size(); start = end + 1) {
    end = meaning.find('\n', start);
    if (end == std::string::npos) end = meaning.size();
    if (end > start) html += "<p>" + escape_html(meaning.substr(start, end - start)) + "</p>";
  }
  html += "</div>\n";
  html += "<h2>Latency distribution</h2>\n<div class=\"legend\" id=\"latency-legend\"></div>\n";
  html +=
      "<div id=\"write-latency\" style=\"display:inline-block\"></div> <div id=\"read-latency\" "
      "style=\"display:inline-block\"></div>\n";
  html +=
      "<h2>Throughput over time</h2>\n<p class=\"small\">Acknowledged operations per second "
      "(solid: all; dashed: "
      "writes); shaded: the nemesis's faults.</p>\n<div id=\"throughput\"></div>\n";
  html +=
      "<h2>Anomalies</h2>\n<div class=\"legend\" id=\"anomalies-legend\"></div>\n<div "
      "id=\"anomalies\"></div>\n";
  html +=
      "<h2>Conflicts over time</h2>\n<p class=\"small\">Writes discarded by last-writer-wins "
      "(counted by the nodes, cumulative), for the presets that resolve conflicts so; colours as "
      "above.</p>\n<div id=\"conflicts\"></div>\n";
  html +=
      "<h2>Leaderless staleness against PBS</h2>\n<p class=\"small\">Simulated (replikv pbs; "
      "docs/leaderless.md): each client writes its key and reads it t ms after the "
      "acknowledgement, R and W of N = 3 replicas drawn uniformly, repair, hints and anti-entropy "
      "off. Solid: the share of reads that missed the write, measured; dashed: PBS's closed form "
      "C(N−W, R) / C(N, R) — exact when each write reaches exactly W replicas, an upper bound "
      "when it reaches every one.</p>\n<div id=\"pbs\"></div>\n";
  html += "<p id=\"status\" class=\"small\">charts not drawn (the page's script did not run)</p>\n";
  html += "<h2>Raw results</h2>\n<details><summary>JSON</summary><pre>" +
          escape_html(demo.dump(1)) + "</pre></details>\n";
  html += "<script type=\"application/json\" id=\"results\">" + script_safe(demo.dump()) +
          "</script>\n";
  html += "<script>";
  html += script;
  html += "</script>\n</body></html>\n";
  return html;
}

}  // namespace replikv::cli
