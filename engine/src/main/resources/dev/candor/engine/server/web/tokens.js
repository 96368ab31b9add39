// One assistant answer, drawn as it streams: every token a span shaded by its p_correct (or coloured by its source),
// grouped into lines that carry the API's line p_correct as a bar, reasoning and answer apart when the server marks
// phases, the breaker's trip point, and the summary. Everything the model wrote goes in as text (textContent,
// createTextNode), never as HTML.

import { el, fixed, probability, visible } from './util.js';

const SOURCES = {
  accepted: 'accepted: proposed by the drafter, accepted by the target',
  resampled: 'resampled: the target rejected the drafter\u2019s token and drew this one',
  bonus: 'bonus: drawn by the target after a fully accepted draft',
  target: 'target: plain decoding, no drafter',
};

/** The shade class of a probability: ten buckets, shade-0 for [0, 0.1) ... shade-9 for [0.9, 1]; none when null. */
export function shadeClass(p) {
  if (p === null || p === undefined || Number.isNaN(p)) {
    return 'shade-none';
  }
  return 'shade-' + Math.min(9, Math.max(0, Math.floor(p * 10)));
}

/** A bar of width p with its value, or "not measured" for a null p (never drawn as 0). */
export function bar(p, label) {
  const wrap = el('span', 'pbar');
  const track = el('span', 'track');
  const fill = el('span', 'fill ' + shadeClass(p));
  fill.style.width = p === null || p === undefined ? '0' : (100 * p).toFixed(1) + '%';
  track.append(fill);
  const num = el('span', 'num', p === null || p === undefined ? 'not measured' : fixed(p, 3));
  if (p !== null && p !== undefined) {
    num.dataset.p = String(p);
  }
  wrap.append(track, num);
  if (label) {
    wrap.setAttribute('aria-label', label + ' ' + num.textContent);
  }
  return wrap;
}

/** One phase of an answer ("reasoning" or "answer"): a heading, its rows of lines, its summary. */
class Phase {
  constructor(name, parent, before) {
    this.name = name;
    this.node = el('section', 'phase phase-' + name);
    this.node.dataset.phase = name;
    this.heading = el('h3', 'phase-title', name === 'reasoning' ? 'Reasoning' : 'Answer');
    this.stats = el('p', 'phase-stats muted');
    this.lines = el('div', 'lines');
    this.node.append(this.heading, this.stats, this.lines);
    parent.insertBefore(this.node, before);
    this.row = null;
  }

  /** A new row for a line, with a pending bar until the API's lines arrive. */
  newRow() {
    this.row = el('div', 'line');
    this.row.append(el('span', 'line-p pending', '\u2026'), el('span', 'line-text'));
    this.lines.append(this.row);
    return this.row;
  }

  append(span, endsLine) {
    (this.row || this.newRow()).lastChild.append(span);
    if (endsLine) {
      this.row = null;
    }
  }
}

export class Answer {
  /** An empty answer in {@code conversation}; {@code tooltip} shows a token's story on hover or focus. */
  constructor(conversation, tooltip) {
    this.tooltip = tooltip;
    this.node = el('article', 'msg assistant');
    this.node.setAttribute('aria-label', 'answer');
    this.body = el('div', 'answer-body');
    this.summary = el('div', 'summary');
    this.node.append(el('p', 'who', 'Model'), this.body, this.summary);
    conversation.append(this.node);
    this.phases = {};
    this.tokens = []; // {span, text, p, source, entropy, draftProb, logprob, top, phase}
    this.content = '';
    this.reasoning = '';
    this.decoder = new TextDecoder();
    this.finished = null;
    this.node.addEventListener('keydown', (e) => this.onKey(e));
  }

  phase(name) {
    if (!this.phases[name]) {
      const before = name === 'reasoning' && this.phases.answer ? this.phases.answer.node : null;
      this.phases[name] = new Phase(name, this.body, before);
      this.node.classList.toggle('has-reasoning', !!this.phases.reasoning);
    }
    return this.phases[name];
  }

  /** One streamed choice: its delta's text, its tokens' logprobs and confidence, and on the last chunk the rest. */
  addChunk(choice) {
    const delta = choice.delta || {};
    this.content += delta.content || '';
    this.reasoning += delta.reasoning_content || '';
    const entries = (choice.logprobs && choice.logprobs.content) || [];
    const marks = (choice.confidence && choice.confidence.tokens) || [];
    const fallback = delta.reasoning_content && !delta.content ? 'reasoning' : 'answer';
    for (let i = 0; i < Math.max(entries.length, marks.length); i++) {
      this.addToken(entries[i] || {}, marks[i] || {}, fallback);
    }
    if (choice.finish_reason) {
      this.finish(choice.finish_reason, choice.confidence || null);
    }
  }

  addToken(entry, mark, fallbackPhase) {
    const bytes = entry.bytes ? Uint8Array.from(entry.bytes) : new TextEncoder().encode(entry.token || '');
    const text = this.decoder.decode(bytes, { stream: true });
    const t = {
      index: this.tokens.length,
      text,
      p: mark.p_correct === undefined ? null : mark.p_correct,
      source: mark.source || 'unknown',
      entropy: mark.entropy === undefined ? undefined : mark.entropy,
      draftProb: mark.draft_prob === undefined ? undefined : mark.draft_prob,
      logprob: entry.logprob,
      top: entry.top_logprobs || [],
      phase: mark.phase || fallbackPhase,
    };
    const span = el('span', 'tok ' + shadeClass(t.p) + ' src-' + t.source, text);
    span.dataset.i = String(t.index);
    span.dataset.source = t.source;
    if (t.p !== null) {
      span.dataset.p = String(t.p);
    }
    if (text === '') {
      span.classList.add('partial'); // the first bytes of a character that a later token completes
    } else if (text.trim() === '') {
      span.classList.add(text.includes('\n') ? 'nl' : 'ws');
    }
    span.tabIndex = this.tokens.length === 0 ? 0 : -1;
    span.addEventListener('mouseenter', () => this.show(t));
    span.addEventListener('mouseleave', () => { if (document.activeElement !== span) this.hide(); });
    span.addEventListener('focus', () => this.show(t));
    span.addEventListener('blur', () => this.hide());
    t.span = span;
    this.tokens.push(t);
    this.phase(t.phase).append(span, text.includes('\n'));
  }

  /** The last chunk: lines (regrouped by the API's token ranges), the breaker's mark, the phases, the summary. */
  finish(reason, confidence) {
    this.finished = reason;
    const c = confidence || {};
    if (c.lines) {
      this.layoutLines(c.lines);
    }
    if (c.breaker && c.breaker.tripped) {
      this.markBreaker(c.breaker);
    }
    for (const name of Object.keys(this.phases)) {
      const stats = c.phases && c.phases[name];
      this.phases[name].stats.textContent = stats ? phaseText(stats) : '';
    }
    this.summary.replaceChildren(summaryNode(reason, c, this.tokens.length));
    this.node.classList.add('done');
  }

  layoutLines(lines) {
    for (const phase of Object.values(this.phases)) {
      phase.lines.replaceChildren();
      phase.row = null;
    }
    let next = 0;
    lines.forEach((line, k) => {
      const first = this.tokens[line.token_start];
      const phase = this.phase(line.phase || (first ? first.phase : 'answer'));
      for (; next < line.token_start && next < this.tokens.length; next++) {
        phase.append(this.tokens[next].span, false); // tokens no line holds (none, by the API's rule)
      }
      const row = phase.newRow();
      row.dataset.line = String(k);
      row.firstChild.replaceWith(Object.assign(bar(line.p_correct, 'line p_correct'), { className: 'pbar line-p' }));
      for (let i = line.token_start; i < line.token_end && i < this.tokens.length; i++) {
        row.lastChild.append(this.tokens[i].span);
      }
      next = Math.max(next, line.token_end);
      phase.row = null;
    });
    for (; next < this.tokens.length; next++) {
      this.phase(this.tokens[next].phase).append(this.tokens[next].span, false);
    }
  }

  markBreaker(breaker) {
    const at = this.tokens[breaker.at_token];
    if (!at) {
      return;
    }
    for (let i = Math.max(0, breaker.at_token - breaker.window + 1); i <= breaker.at_token; i++) {
      this.tokens[i].span.classList.add('in-window');
    }
    const mark = el('span', 'breaker-mark', '\u23f9 breaker tripped: mean p_correct of the last ' + breaker.window
      + ' tokens ' + fixed(breaker.window_p_correct, 3) + ' < ' + fixed(breaker.threshold, 3));
    mark.setAttribute('role', 'note');
    mark.dataset.atToken = String(breaker.at_token);
    at.span.after(mark);
  }

  show(t) {
    this.tooltip.replaceChildren(story(t));
    this.tooltip.hidden = false;
    t.span.setAttribute('aria-describedby', this.tooltip.id);
    placeTooltip(this.tooltip, t.span);
  }

  hide() {
    this.tooltip.hidden = true;
  }

  /** Arrow keys move between tokens (one tab stop per answer), up and down between lines; Escape hides the story. */
  onKey(e) {
    const span = e.target.closest && e.target.closest('.tok');
    if (!span || !this.node.contains(span)) {
      return;
    }
    const order = [...this.node.querySelectorAll('.answer-body .tok')];
    const i = order.indexOf(span);
    const rowStart = (row) => row && row.querySelector('.tok');
    const row = span.closest('.line');
    const target = {
      ArrowRight: order[i + 1],
      ArrowLeft: order[i - 1],
      Home: order[0],
      End: order[order.length - 1],
      ArrowDown: row && rowStart(nextRow(row, 1)),
      ArrowUp: row && rowStart(nextRow(row, -1)),
    }[e.key];
    if (e.key === 'Escape') {
      this.hide();
      return;
    }
    if (target) {
      e.preventDefault();
      span.tabIndex = -1;
      target.tabIndex = 0;
      target.focus();
    }
  }
}

/** Puts the tooltip below its token (above when there is no room), inside the viewport; follows it on scroll. */
export function placeTooltip(tooltip, span) {
  tooltip.owner = span;
  const r = span.getBoundingClientRect();
  const tip = tooltip.getBoundingClientRect();
  const left = Math.max(8, Math.min(r.left, window.innerWidth - tip.width - 8));
  const below = r.bottom + 6 + tip.height < window.innerHeight;
  tooltip.style.left = left + 'px';
  tooltip.style.top = (below ? r.bottom + 6 : Math.max(8, r.top - tip.height - 6)) + 'px';
}

function nextRow(row, step) {
  const rows = [...row.closest('.answer-body').querySelectorAll('.line')];
  return rows[rows.indexOf(row) + step];
}

/** The tooltip's content: what produced the token and what the target thought of it. */
function story(t) {
  const box = el('div', 'story');
  const head = el('p', 'story-head');
  head.append(el('code', 'tok-text', visible(t.text)), ' ', el('span', 'tok src-' + t.source, t.source));
  const facts = el('dl', 'facts');
  const fact = (name, value) => facts.append(el('dt', '', name), el('dd', '', value));
  fact('p_correct', t.p === null ? 'not measured' : fixed(t.p, 3));
  fact('probability', t.logprob === undefined ? '\u2014' : fixed(probability(t.logprob), 3)
    + ' (logprob ' + fixed(t.logprob, 3) + ')');
  fact('entropy', t.entropy === undefined || t.entropy === null ? '\u2014' : fixed(t.entropy, 3) + ' nats');
  fact('drafter', drafterText(t));
  fact('source', SOURCES[t.source] || t.source);
  box.append(head, facts);
  if (t.top.length) {
    const table = el('table', 'alternatives');
    table.append(el('caption', '', 'Top alternatives (the target\u2019s)'));
    for (const alt of t.top) {
      const tr = el('tr', alt.token === t.text ? 'chosen' : '');
      const p = probability(alt.logprob);
      const cell = el('td', 'alt-p');
      cell.append(bar(p));
      tr.append(el('td', 'alt-token', visible(alt.token)), cell);
      table.append(tr);
    }
    box.append(table);
  }
  return box;
}

function drafterText(t) {
  if (t.draftProb === undefined) {
    return '\u2014';
  }
  if (t.draftProb === null) {
    return t.source === 'bonus' ? 'no draft at this position (bonus)' : 'no drafter';
  }
  return fixed(t.draftProb, 3) + (t.source === 'resampled' ? ' (it proposed another token)' : '');
}

function phaseText(stats) {
  if (!stats.measured) {
    return stats.n_tokens + ' tokens; p_correct not measured';
  }
  return stats.n_tokens + ' tokens; mean p_correct ' + fixed(stats.mean, 3) + ', min ' + fixed(stats.min, 3);
}

/** The response's p_correct, the method, the counts by source, coverage, acceptance, the histogram, the finish. */
function summaryNode(reason, c, nTokens) {
  const dl = el('dl', 'facts summary-facts');
  const fact = (name, value, key) => {
    const dd = el('dd', '', value);
    dd.dataset.key = key;
    dl.append(el('dt', '', name), dd);
    return dd;
  };
  if (c.response) {
    fact('response p_correct', '', 'response').append(bar(c.response.measured ? c.response.p_correct : null,
      'response p_correct'));
  }
  if (c.method) {
    fact('confidence', c.method === 'probe' ? 'probe (calibrated)' : c.method + ' (raw probability, not calibrated)',
      'method').title = c.note || '';
  }
  const s = c.summary;
  if (s) {
    fact('tokens', s.n_tokens + ': ' + s.n_accepted + ' accepted, ' + s.n_resampled + ' resampled, ' + s.n_bonus
      + ' bonus, ' + s.n_target + ' target', 'tokens');
    fact('coverage', s.coverage === null ? 'nothing emitted' : fixed(s.coverage, 3), 'coverage');
    fact('drafter acceptance', s.drafter_acceptance === null ? 'no drafter'
      : fixed(s.drafter_acceptance, 3) + ' of ' + s.n_drafted + ' drafted', 'acceptance');
    if (s.accepted_per_step && s.accepted_per_step.length) {
      fact('accepted per step', '', 'histogram').append(histogram(s.accepted_per_step));
    }
  } else {
    fact('tokens', String(nTokens), 'tokens');
  }
  if (c.phases) {
    for (const [name, stats] of Object.entries(c.phases)) {
      fact(name, phaseText(stats), 'phase-' + name);
    }
  }
  fact('finish', reason === 'low_confidence' ? 'low_confidence (the breaker stopped it)' : reason, 'finish');
  if (c.breaker) {
    fact('breaker', breakerText(c.breaker), 'breaker');
  }
  return dl;
}

function breakerText(b) {
  const window = b.window_p_correct === null ? 'nothing to measure (fewer than ' + b.window + ' tokens measured)'
    : 'last window mean ' + fixed(b.window_p_correct, 3);
  return (b.tripped ? 'tripped at token ' + b.at_token : 'did not trip') + '; ' + window + '; threshold '
    + fixed(b.threshold, 3);
}

/** Steps that accepted 0, 1, ..., k drafted tokens, as bars. */
function histogram(counts) {
  const max = Math.max(1, ...counts);
  const box = el('span', 'histogram');
  box.setAttribute('role', 'img');
  box.setAttribute('aria-label', counts.map((n, k) => n + ' steps accepted ' + k).join(', '));
  counts.forEach((n, k) => {
    const col = el('span', 'col');
    const b = el('span', 'hbar');
    b.style.height = (100 * n / max).toFixed(0) + '%';
    const area = el('span', 'area');
    area.append(b);
    col.append(el('span', 'count', String(n)), area, el('span', 'k', String(k)));
    box.append(col);
  });
  return box;
}
