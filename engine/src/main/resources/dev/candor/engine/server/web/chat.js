// The chat view: the message box, the settings, the conversation and one streamed answer at a time. A request is
// what any OpenAI client would send, plus Candor's confidence_breaker when it is switched on.

import { streamChat } from './api.js';
import { Answer, placeTooltip } from './tokens.js';
import { el } from './util.js';

/** The README's example: a program the default model traces (and gets wrong at the multiplication). */
export const EXAMPLE = 'Trace this program:\na = 347\nb = a * 26\nc = b % 7\nprint(c)\n';

const $ = (id) => document.getElementById(id);

export class Chat {
  constructor(onUnauthorized) {
    this.onUnauthorized = onUnauthorized;
    this.history = []; // [{role, content}] of the turns that completed
    this.abort = null;
    this.tooltip = $('tooltip');
    $('chat-form').addEventListener('submit', (e) => { e.preventDefault(); this.send(); });
    $('prompt').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.send();
      }
    });
    $('stop').addEventListener('click', () => this.abort && this.abort.abort());
    $('clear').addEventListener('click', () => this.clear());
    $('example').addEventListener('click', () => { $('prompt').value = EXAMPLE; $('prompt').focus(); });
    document.addEventListener('scroll', () => {
      if (!this.tooltip.hidden && this.tooltip.owner && this.tooltip.owner.isConnected) {
        placeTooltip(this.tooltip, this.tooltip.owner);
      }
    }, { passive: true });
    this.setState('idle');
  }

  setState(state) {
    document.body.dataset.state = state;
    $('send').disabled = state === 'streaming';
    $('stop').disabled = state !== 'streaming';
  }

  status(text, isError) {
    $('status').textContent = text;
    $('status').classList.toggle('error', !!isError);
  }

  clear() {
    if (this.abort) {
      this.abort.abort();
    }
    this.history = [];
    $('conversation').replaceChildren();
    $('intro').hidden = false;
    this.status('');
    $('prompt').focus();
  }

  /** The request body from the settings; a setting that is not a number is left to the server's defaults. */
  request(messages) {
    const number = (id) => ($(id).value.trim() === '' ? null : Number($(id).value));
    const body = { messages, logprobs: true, stream_options: { include_usage: true } };
    const put = (field, value) => { if (value !== null && !Number.isNaN(value)) body[field] = value; };
    put('temperature', number('temperature'));
    put('top_p', number('top-p'));
    put('max_tokens', number('max-tokens'));
    put('seed', number('seed'));
    put('top_logprobs', number('top-logprobs'));
    if ($('breaker-on').checked) {
      body.confidence_breaker = { window: number('breaker-window'), threshold: number('breaker-threshold') };
    }
    return body;
  }

  async send() {
    const text = $('prompt').value;
    if (document.body.dataset.state === 'streaming') {
      return;
    }
    if (text.trim() === '') {
      this.status('Write a message first.', true);
      return;
    }
    $('intro').hidden = true;
    const user = el('article', 'msg user');
    user.append(el('p', 'who', 'You'), el('div', 'user-text', text));
    $('conversation').append(user);
    const messages = [...this.history, { role: 'user', content: text }];
    const answer = new Answer($('conversation'), this.tooltip);
    $('prompt').value = '';
    this.abort = new AbortController();
    this.setState('streaming');
    this.status('Generating\u2026');
    try {
      await streamChat(this.request(messages), (chunk) => {
        for (const choice of chunk.choices || []) {
          answer.addChunk(choice);
        }
      }, this.abort.signal);
      this.history = [...messages, { role: 'assistant', content: answer.content }];
      this.status(answer.finished ? 'Done: ' + answer.tokens.length + ' tokens.' : 'The stream ended early.');
    } catch (e) {
      this.failed(e, user, answer, messages, text);
    } finally {
      this.abort = null;
      this.setState('idle');
    }
  }

  /** A stopped answer keeps what came; a failed request puts the message back in the box, so nothing is lost. */
  failed(e, user, answer, messages, text) {
    if (e.name === 'AbortError') {
      answer.node.classList.add('stopped');
      this.history = [...messages, { role: 'assistant', content: answer.content }];
      this.status('Stopped after ' + answer.tokens.length + ' tokens.');
      return;
    }
    if (answer.tokens.length === 0) {
      answer.node.remove();
      user.classList.add('not-sent');
      $('prompt').value = text;
    }
    this.status((answer.tokens.length ? 'The answer broke off: ' : 'Not sent: ') + e.message, true);
    if (e.status === 401) {
      this.onUnauthorized();
    }
  }
}
