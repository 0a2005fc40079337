// Draws the scale benchmark's figures as an SVG: scrape time and the target's
// event-loop delay (p99) against the number of counter series, one line per library.
'use strict';

const WIDTH = 980;
const HEIGHT = 420;
const PANEL = { width: 360, height: 260, top: 70 };
const LEFT = [90, 560];
const COLORS = { slotmetrics: '#1f77b4', 'prom-client': '#d62728' };

const escapeXml = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const label = (ms) => (ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(2));

/** A log-log panel at x offset `left`: series count across, milliseconds up. */
function panel(left, title, points, yRange) {
  const [yMin, yMax] = yRange;
  const xs = [
    ...new Set(
      Object.values(points)
        .flat()
        .map((p) => p.series),
    ),
  ].sort((a, b) => a - b);
  const x = (series) => left + ((Math.log10(series) - Math.log10(xs[0])) / (Math.log10(xs.at(-1)) - Math.log10(xs[0]))) * PANEL.width;
  const y = (ms) =>
    PANEL.top + PANEL.height - ((Math.log10(Math.max(ms, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * PANEL.height;
  const parts = [`<text x="${left}" y="${PANEL.top - 20}" class="title">${escapeXml(title)}</text>`];
  for (let decade = Math.log10(yMin); decade <= Math.log10(yMax) + 1e-9; decade++) {
    const ms = 10 ** decade;
    parts.push(`<line x1="${left}" x2="${left + PANEL.width}" y1="${y(ms)}" y2="${y(ms)}" class="grid"/>`);
    parts.push(`<text x="${left - 6}" y="${y(ms) + 4}" class="tick" text-anchor="end">${ms >= 1 ? ms : ms.toFixed(-decade)} ms</text>`);
  }
  for (const series of xs) {
    parts.push(
      `<text x="${x(series)}" y="${PANEL.top + PANEL.height + 18}" class="tick" text-anchor="middle">${series.toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(`<text x="${left + PANEL.width / 2}" y="${PANEL.top + PANEL.height + 38}" class="tick" text-anchor="middle">counter series</text>`);
  for (const [library, pts] of Object.entries(points)) {
    const path = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.series).toFixed(1)},${y(p.ms).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" stroke="${COLORS[library]}" class="line"/>`);
    for (const p of pts) {
      parts.push(`<circle cx="${x(p.series)}" cy="${y(p.ms)}" r="4" fill="${COLORS[library]}"/>`);
      parts.push(`<text x="${x(p.series) + 6}" y="${y(p.ms) - 6}" class="value" fill="${COLORS[library]}">${label(p.ms)}</text>`);
    }
  }
  return parts.join('\n');
}

/** The SVG for a scale report (see scale.js). */
function scaleChart(report) {
  const counters = report.results.filter((r) => r.kind === 'counters');
  const points = (field) =>
    Object.fromEntries(Object.keys(COLORS).map((lib) => [lib, counters.map((r) => ({ series: r.series, ms: r[lib][field] }))]));
  const scrape = points('scrapeMs');
  const delay = points('eventLoopDelayP99Ms');
  const all = [...Object.values(scrape), ...Object.values(delay)].flat().map((p) => p.ms);
  const range = [10 ** Math.floor(Math.log10(Math.max(Math.min(...all), 0.01))), 10 ** Math.ceil(Math.log10(Math.max(...all)))];
  const legend = Object.entries(COLORS)
    .map(
      ([lib, color], i) =>
        `<rect x="${LEFT[0] + i * 160}" y="${HEIGHT - 24}" width="14" height="4" fill="${color}"/><text x="${LEFT[0] + 20 + i * 160}" y="${HEIGHT - 18}" class="tick">${lib}</text>`,
    )
    .join('');
  const heading = `slotmetrics vs prom-client: a /metrics scrape (${report.runtime}, ${report.cpus} cores, ${report.date.slice(0, 10)})`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">
<title>${escapeXml(heading)}</title>
<style>.title{font-size:14px;font-weight:bold}.tick{font-size:11px;fill:#444}.value{font-size:11px}.grid{stroke:#ddd}.line{fill:none;stroke-width:2}</style>
<rect width="100%" height="100%" fill="white"/>
<text x="${WIDTH / 2}" y="22" text-anchor="middle" class="title">${escapeXml(heading)}</text>
${panel(LEFT[0], 'Scrape time, end to end (median)', scrape, range)}
${panel(LEFT[1], "Target's event-loop delay during scrapes (p99)", delay, range)}
${legend}
</svg>
`;
}

module.exports = { scaleChart };
