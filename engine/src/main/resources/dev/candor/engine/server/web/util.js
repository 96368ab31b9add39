// Small helpers shared by the page's modules: elements built with text only (never HTML), and number formats.

/** An element with a class and, optionally, text (set as text: a model's "<img onerror>" stays characters). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined && text !== null) {
    node.textContent = text;
  }
  return node;
}

/** x with n decimals; an em dash for a missing value. */
export function fixed(x, n) {
  return x === null || x === undefined || Number.isNaN(x) ? '\u2014' : Number(x).toFixed(n);
}

/** The probability of a logprob; OpenAI's -9999 ("no probability in the sampling distribution") is 0. */
export function probability(logprob) {
  return logprob <= -9999 ? 0 : Math.exp(logprob);
}

/** A token's text with its whitespace made visible, quoted: "\u2423" for a space, "\u21b5" for a newline. */
export function visible(text) {
  if (text === '') {
    return '(part of a character)';
  }
  return '\u201c' + text.replace(/ /g, '\u2423').replace(/\n/g, '\u21b5').replace(/\t/g, '\u21e5') + '\u201d';
}
