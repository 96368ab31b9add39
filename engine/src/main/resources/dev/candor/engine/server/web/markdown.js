// A small Markdown renderer for the probe's report.md, straight to DOM nodes (never innerHTML): headings, paragraphs,
// lists, tables (with column alignment), fenced code, block quotes, rules; inline code, bold, italic, links and
// images. What it does not know stays visible as text. CommonMark (https://spec.commonmark.org) is the reference for
// the parts it covers; report.md is written by the probes module, so this subset is all it needs.

import { el } from './util.js';

const TABLE_RULE = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;
const LIST_ITEM = /^\s*([-*+]|\d+[.)])\s+(.*)$/;

/** The DOM of {@code text}; {@code image(src, alt)} returns a node for an image (or null to show its alt text). */
export function renderMarkdown(text, image) {
  const root = document.createDocumentFragment();
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') {
      i++;
    } else if (line.startsWith('```')) {
      i = codeBlock(lines, i, root);
    } else if (/^#{1,6}\s/.test(line)) {
      const level = line.match(/^#+/)[0].length;
      root.append(inline(el('h' + Math.min(6, level + 2), 'md-h' + level), line.slice(level).trim(), image));
      i++;
    } else if (/^\s*(-{3,}|\*{3,}|_{3,})\s*$/.test(line)) {
      root.append(el('hr'));
      i++;
    } else if (line.trimStart().startsWith('|') && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
      i = table(lines, i, root, image);
    } else if (LIST_ITEM.test(line)) {
      i = list(lines, i, root, image);
    } else if (line.startsWith('>')) {
      const quote = el('blockquote');
      for (; i < lines.length && lines[i].startsWith('>'); i++) {
        quote.append(inline(el('p'), lines[i].replace(/^>\s?/, ''), image));
      }
      root.append(quote);
    } else {
      const words = [];
      for (; i < lines.length && lines[i].trim() !== '' && !startsBlock(lines, i); i++) {
        words.push(lines[i].trim());
      }
      root.append(inline(el('p'), words.join(' '), image));
    }
  }
  return root;
}

function startsBlock(lines, i) {
  const line = lines[i];
  return line.startsWith('```') || /^#{1,6}\s/.test(line) || LIST_ITEM.test(line) || line.startsWith('>')
    || (line.trimStart().startsWith('|') && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]));
}

function codeBlock(lines, i, root) {
  const code = [];
  for (i++; i < lines.length && !lines[i].startsWith('```'); i++) {
    code.push(lines[i]);
  }
  const pre = el('pre');
  pre.append(el('code', '', code.join('\n')));
  root.append(pre);
  return i + 1;
}

function cells(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

function table(lines, i, root, image) {
  const head = cells(lines[i]);
  const align = cells(lines[i + 1]).map((c) => (c.endsWith(':') ? (c.startsWith(':') ? 'center' : 'right') : 'left'));
  const wrap = el('div', 'table-wrap');
  const t = el('table', 'md-table');
  const tr = el('tr');
  head.forEach((c, k) => tr.append(aligned(inline(el('th'), c, image), align[k])));
  t.append(el('thead'));
  t.firstChild.append(tr);
  const body = el('tbody');
  for (i += 2; i < lines.length && lines[i].trimStart().startsWith('|'); i++) {
    const row = el('tr');
    cells(lines[i]).forEach((c, k) => row.append(aligned(inline(el('td'), c, image), align[k])));
    body.append(row);
  }
  t.append(body);
  wrap.append(t);
  root.append(wrap);
  return i;
}

function aligned(cell, align) {
  cell.classList.add('align-' + (align || 'left'));
  return cell;
}

function list(lines, i, root, image) {
  const ordered = /^\s*\d/.test(lines[i]);
  const l = el(ordered ? 'ol' : 'ul');
  for (; i < lines.length && LIST_ITEM.test(lines[i]); i++) {
    l.append(inline(el('li'), lines[i].match(LIST_ITEM)[2], image));
  }
  root.append(l);
  return i;
}

const INLINE = new RegExp([
  /`([^`]+)`/.source, // code
  /\*\*(.+?)\*\*/.source, /(?<![A-Za-z0-9])__(.+?)__(?![A-Za-z0-9])/.source, // bold (no intraword _)
  /\*([^*\s][^*]*?)\*/.source, /(?<![A-Za-z0-9])_([^_\s][^_]*?)_(?![A-Za-z0-9])/.source, // italic: token_prob is a word
  /!\[([^\]]*)\]\(([^)\s]+)\)/.source, // image
  /\[([^\]]+)\]\(([^)\s]+)\)/.source, // link
].join('|'), 'g');

/** Inline spans of {@code text} appended to {@code node}, as text nodes and elements. */
function inline(node, text, image) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    node.append(document.createTextNode(text.slice(last, m.index)));
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      node.append(el('code', '', m[1]));
    } else if (m[2] !== undefined || m[3] !== undefined) {
      node.append(inline(el('strong'), m[2] ?? m[3], image));
    } else if (m[4] !== undefined || m[5] !== undefined) {
      node.append(inline(el('em'), m[4] ?? m[5], image));
    } else if (m[6] !== undefined) {
      node.append((image && image(m[7], m[6])) || document.createTextNode(m[6]));
    } else {
      node.append(link(m[8], m[9], image));
    }
  }
  node.append(document.createTextNode(text.slice(last)));
  return node;
}

/** A link to http(s) opens in a new tab; anything else (a file beside report.md) stays text. */
function link(text, href, image) {
  if (!/^https?:\/\//i.test(href)) {
    return inline(el('span'), text, image);
  }
  const a = inline(el('a'), text, image);
  a.href = href;
  a.rel = 'noopener noreferrer';
  a.target = '_blank';
  return a;
}
