import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sectionsOf, writeSection } from '../../bench/results-file.ts';

/** bench/RESULTS.md holds several benchmarks' figures: each run replaces its own, never another's. */
describe('benchmark results file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-results-'));
  const file = join(dir, 'RESULTS.md');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the mix adds its section after the other figures and replaces only its own on the next run', () => {
    writeFileSync(file, '# Benchmark results\n\nfixed figures\n');
    writeSection(file, 'compression', '## Compression\n\ncompression v1');
    writeSection(file, 'mix', '## Realistic mix\n\nmix v1');
    writeSection(file, 'mix', '## Realistic mix\n\nmix v2');
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('# Benchmark results\n\nfixed figures\n'), text);
    assert.ok(text.includes('compression v1') && text.includes('mix v2') && !text.includes('mix v1'), text);
    assert.equal(text.match(/<!-- section:mix -->/g)?.length, 1);
    // What the fixed-query bench keeps when it rewrites the file: both sections, in order.
    const kept = sectionsOf(file);
    assert.equal(kept.length, 2);
    assert.match(kept[1]!, /^<!-- section:mix -->\n## Realistic mix\n\nmix v2\n<!-- \/section:mix -->\n$/);
  });
});
