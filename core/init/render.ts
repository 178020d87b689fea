// A draft as YAML text: written as data with the yaml library (never a template string), then
// commented where draft.ts left notes. Small maps and lists go on one line, as in SPEC's example.
import { Document, isMap, isPair, isScalar, isSeq, visit, type Pair, type Scalar } from 'yaml';
import type { Draft, Note } from './draft.js';

export function renderDraft(draft: Draft): string {
  const doc = new Document(draft.config);
  doc.commentBefore = comment(draft.header.join('\n'));
  visit(doc, {
    Pair(_key, pair: Pair) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      // services and the top-level keys stay block maps; what is inside a service is short
      if ((isMap(pair.value) || isSeq(pair.value)) && (FLOW.has(key) || (key === 'host' && isSeq(pair.value)))) pair.value.flow = true;
    },
    Scalar(_key, node: Scalar) {
      // commands and ${...} read best quoted, as in SPEC's example
      if (typeof node.value === 'string' && /[\s${}#:]/.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  // ports of the top level: one per line, each `{}`
  const ports = doc.get('ports', true);
  if (isMap(ports)) {
    ports.flow = ports.items.length === 0;
    for (const item of ports.items) if (isMap(item.value)) item.value.flow = true;
  }
  // one blank line between services, and before each top-level key after the first two
  spaceBefore(doc.get('services', true));
  for (const item of (doc.contents as { items: Pair[] }).items.slice(2)) setKey(item, { space: true });
  for (const note of draft.notes) annotate(doc, note);
  return doc.toString({ lineWidth: 0 });
}

/** Keys whose values are written inline: `ports: { web: 3000 }`, `depends_on: [db]` (and `hybrid.host`). */
const FLOW = new Set(['ports', 'depends_on', 'env', 'ready', 'files']);

function spaceBefore(map: unknown): void {
  if (!isMap(map)) return;
  map.items.slice(1).forEach((item) => setKey(item, { space: true }));
}

function setKey(pair: Pair, what: { space?: boolean; before?: string }): void {
  if (!isScalar(pair.key)) return;
  if (what.space) pair.key.spaceBefore = true;
  if (what.before) pair.key.commentBefore = [pair.key.commentBefore, comment(what.before)].filter(Boolean).join('\n');
}

function annotate(doc: Document, note: Note): void {
  const parent = note.path.length > 1 ? doc.getIn(note.path.slice(0, -1), true) : doc.contents;
  if (!isMap(parent)) return;
  const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === note.path[note.path.length - 1]);
  if (!pair) return;
  if (note.before) setKey(pair, { before: note.before });
  if (note.after) {
    const value = pair.value as { comment?: string | null } | null;
    if (value && typeof value === 'object') value.comment = [value.comment, ` ${note.after}`].filter(Boolean).join(';');
  }
}

const WIDTH = 100;

/** Comment lines (without the `#`, which the yaml library adds) wrapped at WIDTH, continuations indented. */
function comment(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const indent = /^ */.exec(line)![0];
    let rest = line;
    while (rest.length > WIDTH) {
      const cut = rest.lastIndexOf(' ', WIDTH);
      if (cut <= indent.length) break;
      out.push(rest.slice(0, cut));
      rest = `${indent}  ${rest.slice(cut + 1)}`;
    }
    out.push(rest);
  }
  return out.map((l) => ` ${l}`).join('\n');
}
