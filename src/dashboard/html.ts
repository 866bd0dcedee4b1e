import { escapeHtml } from '../util/html.js';

/** Where the dashboard's own files and JSON live (its pages are at /, /study/…, /tag/…). */
export const BASE = '/dashboard';

/**
 * What a page may run: our scripts only (vega compiles its expressions with `new Function`, hence
 * 'unsafe-eval'), no inline script or handler: a name that slipped through escaping still could not run.
 */
export const CSP = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export interface PageShell {
  title: string;
  /** The page's kind and its ids, read by the front end from data attributes. */
  data: Record<string, string | number>;
}

/**
 * A page: escaped title, data attributes, the pre-built front end from this server (never a CDN).
 * vega and vega-lite (1.5 MB of script) are loaded by the front end (a study page's while its data is
 * on its way: the browser compiles scripts added so off its main thread), never in this head, so
 * that they never hold up the first paint.
 */
export function pageHtml(page: PageShell): string {
  const attrs = Object.entries(page.data)
    .map(([k, v]) => ` data-${k}="${escapeHtml(String(v))}"`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} · tunelab</title>
<link rel="stylesheet" href="${BASE}/assets/app.css">
<script type="module" src="${BASE}/assets/app.js"></script>
</head>
<body>
<header><a href="/" class="brand">tunelab</a> <span id="live" class="live">connecting…</span></header>
<main id="app"${attrs}><h1 id="title">${escapeHtml(page.title)}</h1></main>
</body>
</html>
`;
}

export function notFoundHtml(what: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>not found · tunelab</title><link rel="stylesheet" href="${BASE}/assets/app.css"></head>
<body><header><a href="/" class="brand">tunelab</a></header><main><h1>Not found</h1><p>${escapeHtml(what)}</p><p><a href="/">All studies and tags</a></p></main></body></html>
`;
}

export const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
header { background: #223; color: #fff; padding: 6px 16px; display: flex; gap: 16px; align-items: center; }
header a.brand { color: #fff; font-weight: bold; text-decoration: none; }
.live { font-size: 12px; opacity: .8; }
main { padding: 8px 16px 40px; }
h1 { font-size: 20px; margin: 8px 0; overflow-wrap: anywhere; }
h2 { font-size: 16px; margin: 20px 0 6px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f4f4f8; cursor: pointer; user-select: none; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow: auto; contain: content; }
/* a live page changes its fleet and its charts every second: their layout stays inside them */
section#fleet, .chart { contain: content; }
#trial-table td { white-space: nowrap; }
#trial-table thead th { position: sticky; top: 0; }
tr.stop td { background: #fff4f0; }
tr.failed td { background: #fbeaea; }
.kv { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
.kv dt { color: #666; }
.warn { background: #fff8e0; border: 1px solid #eed27a; padding: 4px 8px; margin: 4px 0; }
.err { color: #a00; }
.chart { margin: 6px 0; min-height: 40px; }
.toolbar { display: flex; gap: 12px; align-items: center; margin: 4px 0; }
pre.logs { background: #111; color: #ddd; padding: 8px; max-height: 600px; overflow: auto; font-size: 12px; }
pre.logs .stderr { color: #f99; }
nav.tabs a { margin-right: 10px; }
`;
