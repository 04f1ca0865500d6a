import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * bench/RESULTS.md is written by several benches: `npm run bench` writes the
 * whole file, the others (compression, tracing, the mix) each own one section
 * between markers. Each bench replaces only its own section, and the main
 * bench keeps the others when it rewrites the file, so no run erases another's
 * figures.
 */
const begin = (id: string) => `<!-- section:${id} -->`;
const end = (id: string) => `<!-- /section:${id} -->`;
const SECTION = /<!-- section:([\w-]+) -->\n[\s\S]*?<!-- \/section:\1 -->\n?/g;

/** Writes `markdown` as section `id` of `file`: in place of its previous text, or at the end. */
export function writeSection(file: string, id: string, markdown: string): void {
  const block = `${begin(id)}\n${markdown.trim()}\n${end(id)}\n`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = text.indexOf(begin(id));
  if (at >= 0) {
    const stop = text.indexOf(end(id), at);
    if (stop < 0) throw new Error(`${file}: section "${id}" has no end marker; fix the file by hand`);
    writeFileSync(file, text.slice(0, at) + block + text.slice(stop + end(id).length).replace(/^\n/, ''));
  } else {
    writeFileSync(file, `${text.replace(/\n*$/, '\n\n')}${block}`);
  }
}

/** The sections other benches wrote into `file`, in order, to be kept by a bench that rewrites it. */
export function sectionsOf(file: string): string[] {
  if (!existsSync(file)) return [];
  return [...readFileSync(file, 'utf8').matchAll(SECTION)].map((m) => m[0].replace(/\n?$/, '\n'));
}
