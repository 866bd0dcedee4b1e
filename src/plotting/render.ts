import { createRequire } from 'node:module';
import type { TopLevelSpec } from 'vega-lite';

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

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One self-contained HTML page: every figure inline as SVG, every spec as JSON, and the final table. */
export function htmlReport(title: string, figures: { name: string; spec: TopLevelSpec; svg: string }[], tableMarkdown: string, warnings: string[]): string {
  const rows = tableMarkdown
    .trim()
    .split('\n')
    .filter((_, i) => i !== 1)
    .map((l, i) => `<tr>${l.split('|').slice(1, -1).map((c) => (i === 0 ? `<th>${escape(c.trim())}</th>` : `<td>${escape(c.trim())}</td>`)).join('')}</tr>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:sans-serif;margin:2em}figure{display:inline-block;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 10px}.warn{color:#a40}</style>
</head><body>
<h1>${escape(title)}</h1>
<h2>Final table</h2>
<table>
${rows}
</table>
${warnings.length ? `<h2>Warnings</h2><ul>${warnings.map((w) => `<li class="warn">${escape(w)}</li>`).join('')}</ul>` : ''}
<h2>Figures</h2>
${figures.map((f) => `<figure id="${escape(f.name)}">${f.svg}<figcaption>${escape(f.name)}</figcaption></figure>`).join('\n')}
${figures.map((f) => `<script type="application/json" class="vega-lite-spec" data-name="${escape(f.name)}">${JSON.stringify(f.spec).replace(/</g, '\\u003c')}</script>`).join('\n')}
</body></html>
`;
}
