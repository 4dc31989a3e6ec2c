/** Reads a Prometheus text endpoint into `{ 'name{labels}': value }` and sums families. */
export async function scrape(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every sample of one metric name (all label sets). */
export function sum(samples, name) {
  let total = 0;
  for (const [key, v] of samples) {
    const base = key.includes('{') ? key.slice(0, key.indexOf('{')) : key;
    if (base === name) total += v;
  }
  return total;
}
