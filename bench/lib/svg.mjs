/**
 * Two small line charts side by side, no dependencies: req/s and p99 against connections for each target.
 * `series`: [{ name, points: [{ x: connections, rps, p99Ms }] }].
 */
const COLORS = { ibrest: '#d62728', 'ibrest-nolog': '#ff9896', haproxy: '#1f77b4', direct: '#2ca02c' };

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function panel(series, xs, key, title, unit, ox) {
  const W = 400;
  const H = 260;
  const L = 60;
  const B = 40;
  const T = 30;
  const R = 15;
  const pw = W - L - R;
  const ph = H - T - B;
  const ymax = niceMax(Math.max(...series.flatMap((s) => s.points.map((p) => p[key]))));
  const xAt = (i) => ox + L + (xs.length === 1 ? pw / 2 : (i * pw) / (xs.length - 1));
  const yAt = (v) => T + ph - (v / ymax) * ph;
  const out = [`<text x="${ox + L + pw / 2}" y="18" text-anchor="middle" font-weight="bold">${title}</text>`];
  for (let k = 0; k <= 4; k++) {
    const v = (ymax * k) / 4;
    const label = Number(v.toPrecision(3)).toLocaleString('en-US');
    out.push(
      `<line x1="${ox + L}" x2="${ox + L + pw}" y1="${yAt(v)}" y2="${yAt(v)}" stroke="#ddd"/>`,
      `<text x="${ox + L - 6}" y="${yAt(v) + 4}" text-anchor="end">${label}</text>`,
    );
  }
  xs.forEach((x, i) => out.push(`<text x="${xAt(i)}" y="${T + ph + 16}" text-anchor="middle">${x}</text>`));
  out.push(
    `<text x="${ox + L + pw / 2}" y="${H - 6}" text-anchor="middle">connections</text>`,
    `<text x="${ox + 14}" y="${T + ph / 2}" text-anchor="middle" ` +
      `transform="rotate(-90 ${ox + 14} ${T + ph / 2})">${unit}</text>`,
  );
  for (const s of series) {
    const pts = s.points.map((p) => [xAt(xs.indexOf(p.x)), yAt(p[key])]);
    const c = COLORS[s.name] ?? '#555';
    out.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => p.join(',')).join(' ')}"/>`,
    );
    for (const [x, y] of pts) out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${c}"/>`);
  }
  return out.join('\n');
}

export function plotSvg(series, title) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${20 + i * 150}" y="272" width="12" height="12" fill="${COLORS[s.name] ?? '#555'}"/>` +
        `<text x="${36 + i * 150}" y="282">${s.name}</text>`,
    )
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="320" font-family="sans-serif" font-size="11">
<rect width="800" height="320" fill="white"/>
<title>${title}</title>
${panel(series, xs, 'rps', 'requests per second (median)', 'req/s', 0)}
${panel(series, xs, 'p99Ms', 'p99 latency (median of runs)', 'ms', 400)}
${legend}
</svg>
`;
}
