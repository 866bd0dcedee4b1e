import { createRequire } from 'node:module';
import { escapeHtml } from '../util/html.js';
import type { TopLevelSpec } from 'vega-lite';
import type { Table } from './aggregate.js';

const require = createRequire(import.meta.url);

/** Headless SVG of a vega-lite spec (vega's View without a DOM). */
export async function toSVG(spec: TopLevelSpec): Promise<string> {
  // vega and vega-lite load on the first figure, not with the package
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** PNG from an SVG (resvg; `scale` 2 for crisp figures), on a white background. */
export function svgToPNG(svg: string, scale = 2): Buffer {
  // resvg is CommonJS: loaded on the first PNG, synchronously
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white' }).render().asPng();
}


export interface ReportFigure {
  name: string;
  /** what the figure shows, in a sentence or two */
  caption: string;
  spec: TopLevelSpec;
  svg: string;
}

export interface ReportContent {
  title: string;
  /** the study at a glance: (label, value) lines */
  description: [string, string][];
  warnings: string[];
  tables: { id: string; title: string; caption: string; table: Table }[];
  figures: ReportFigure[];
}

const htmlTable = (t: Table) =>
  `<table>\n<tr>${t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>\n${t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n')}\n</table>`;

/** One self-contained page: the study's description and warnings, its tables, every figure inline as SVG with a caption, every spec as JSON. */
export function htmlReport(report: ReportContent): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.title)}</title>
<style>
body{font-family:sans-serif;font-size:15px;margin:1em;color:#222}
h2{margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:4px 10px;text-align:left;vertical-align:top}th{background:#f3f3f3}
dl.study{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dl.study dt{font-weight:bold}dl.study dd{margin:0}
.warn{color:#a40}
.figures{display:flex;flex-wrap:wrap;align-items:flex-start;gap:24px}
figure{margin:0;display:table}figcaption{display:table-caption;caption-side:bottom;margin-top:6px}
p.caption{max-width:60em}
</style>
</head><body>
<h1>${escapeHtml(report.title)}</h1>
<section id="description"><h2>Study</h2>
<dl class="study">
${report.description.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('\n')}
</dl>
${report.warnings.length ? `<h3>Warnings</h3><ul id="warnings">${report.warnings.map((w) => `<li class="warn">${escapeHtml(w)}</li>`).join('')}</ul>` : '<p>No warnings.</p>'}
</section>
${report.tables.map((t) => `<section id="${escapeHtml(t.id)}"><h2>${escapeHtml(t.title)}</h2><p class="caption">${escapeHtml(t.caption)}</p>\n${htmlTable(t.table)}</section>`).join('\n')}
<h2>Figures</h2>
<div class="figures">
${report.figures.map((f) => `<figure id="${escapeHtml(f.name)}">${f.svg}<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`).join('\n')}
</div>
${report.figures.map((f) => `<script type="application/json" class="vega-lite-spec" data-name="${escapeHtml(f.name)}">${JSON.stringify(f.spec).replace(/</g, '\\u003c')}</script>`).join('\n')}
</body></html>
`;
}
