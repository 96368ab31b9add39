// The probe page: the model card from GET /v1/models, and the served probe's report.md (rendered) with its
// reliability diagrams, fetched from the probe directory the server was started with (--probe DIR).

import { diagramUrl, probeIndex } from './api.js';
import { renderMarkdown } from './markdown.js';
import { el } from './util.js';

const $ = (id) => document.getElementById(id);

/** What a diagram's file name says, e.g. reliability-probe-line-scaled.png: "probe, line level, Platt-scaled". */
export function diagramTitle(name) {
  const m = name.match(/^reliability-(.+)-(token|line|problem|response)(-scaled)?\.png$/);
  if (!m) {
    return name;
  }
  return m[1].replace(/_/g, ' ') + ', ' + m[2] + ' level, ' + (m[3] ? 'Platt-scaled' : 'unscaled');
}

/** The probe's own diagrams first, then the baselines'; within each, line before token before problem, scaled first. */
export function diagramOrder(a, b) {
  const rank = (name) => {
    const m = name.match(/^reliability-(.+)-(token|line|problem|response)(-scaled)?\.png$/);
    if (!m) {
      return [9, 9, 9, name];
    }
    const method = ['probe', 'token_prob', 'token_prob_mean', 'multisample'].indexOf(m[1]);
    return [method < 0 ? 8 : method, ['line', 'token', 'problem', 'response'].indexOf(m[2]), m[3] ? 0 : 1, name];
  };
  const [x, y] = [rank(a), rank(b)];
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) {
      return x[i] < y[i] ? -1 : 1;
    }
  }
  return 0;
}

/** The model card: every field of the served model's entry, the candor extension's fields as their own rows. */
export function showModelCard(models) {
  const card = $('model-card');
  card.replaceChildren();
  const model = (models.data || [])[0];
  if (!model) {
    card.append(el('dt', '', 'model'), el('dd', '', 'none served'));
    return;
  }
  const row = (name, value) => {
    const dd = el('dd', '', value === null || value === undefined ? '\u2014' : String(value));
    dd.dataset.key = name;
    card.append(el('dt', '', name), dd);
  };
  row('id', model.id);
  row('owned_by', model.owned_by);
  row('created', model.created ? new Date(model.created * 1000).toISOString() : null);
  for (const [name, value] of Object.entries(model.candor || {})) {
    row(name, value);
  }
}

/** The probe's report and diagrams (once: they do not change while the server runs). */
export async function showProbe() {
  const status = $('probe-status');
  let index;
  try {
    index = await probeIndex();
  } catch (e) {
    status.textContent = 'The probe\u2019s report could not be loaded: ' + e.message;
    return e;
  }
  if (!index.probe) {
    status.textContent = 'No probe is served: p_correct is the raw token probability, which is not calibrated. '
      + 'Start the server with --probe DIR for a calibrated one.';
    return null;
  }
  status.textContent = index.diagrams.length + ' reliability diagrams: the fraction of tokens, lines or problems '
    + 'that were right against the predicted p_correct (the diagonal is perfect calibration).';
  const urls = {};
  for (const name of [...index.diagrams].sort(diagramOrder)) {
    const figure = el('figure', 'diagram');
    const img = el('img');
    img.alt = 'reliability diagram: ' + diagramTitle(name);
    figure.append(img, el('figcaption', '', diagramTitle(name)));
    $('diagrams').append(figure);
    urls[name] = diagramUrl(name).then((url) => { img.src = url; return url; },
      (e) => { figure.append(el('p', 'error', 'not loaded: ' + e.message)); return null; });
  }
  if (index.report_markdown) {
    $('report').replaceChildren(renderMarkdown(index.report_markdown, (src, alt) => {
      if (!(src in urls)) {
        return null;
      }
      const img = el('img');
      img.alt = alt;
      urls[src].then((url) => { if (url) img.src = url; });
      return img;
    }));
  } else {
    $('report').replaceChildren(el('p', 'muted', 'The probe directory has no report.md.'));
  }
  await Promise.all(Object.values(urls));
  return null;
}
