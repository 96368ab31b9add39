// The page's entry point: which view is shown (/ the chat, /probe the probe and model card), the model's name, the
// API key prompt when the server asks for one, and the shading legend.

import { ApiError, models, setApiKey } from './api.js';
import { Chat } from './chat.js';
import { showModelCard, showProbe } from './probe.js';
import { el } from './util.js';

const $ = (id) => document.getElementById(id);
let card = null; // GET /v1/models, once it answered
let probeShown = false;

function viewOf(path) {
  return path === '/probe' ? 'probe' : 'chat';
}

function show(view) {
  $('chat-view').hidden = view !== 'chat';
  $('probe-view').hidden = view !== 'probe';
  $('tooltip').hidden = true;
  for (const a of document.querySelectorAll('nav a[data-view]')) {
    if (a.dataset.view === view) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  }
  document.title = view === 'probe' ? 'Candor: probe and model' : 'Candor';
  if (view === 'probe' && card && !probeShown) {
    probeShown = true;
    document.body.dataset.probe = 'loading';
    showProbe().then((failure) => {
      probeShown = !(failure instanceof ApiError && failure.status === 401);
      document.body.dataset.probe = 'ready';
    });
  }
}

/** GET /v1/models: the model's name and confidence method; a 401 asks for the key. */
async function loadModel() {
  try {
    card = await models();
  } catch (e) {
    if (e.status === 401) {
      askForKey();
    } else {
      $('model-name').textContent = 'unavailable (' + e.message + ')';
    }
    return;
  }
  $('key-panel').hidden = true;
  const model = card.data[0];
  const method = model.candor && model.candor.confidence_method;
  $('model-name').textContent = model.id;
  $('model-method').textContent = method === 'probe' ? 'calibrated probe' : 'raw token probability';
  $('intro-method').textContent = method === 'probe'
    ? 'a calibrated probe on the model\u2019s hidden states'
    : 'here the raw token probability, which is not calibrated: the server has no probe';
  showModelCard(card);
  document.body.dataset.model = 'ready';
  show(viewOf(location.pathname));
}

function askForKey() {
  $('key-panel').hidden = false;
  $('api-key').focus();
}

function legend() {
  const scale = $('legend-p');
  for (let k = 0; k < 10; k++) {
    const swatch = el('span', 'tok shade-' + k, (k / 10).toFixed(1));
    swatch.title = 'p_correct ' + (k / 10).toFixed(1) + '\u2013' + ((k + 1) / 10).toFixed(1);
    scale.append(swatch);
  }
  scale.append(el('span', 'tok shade-none', 'not measured'));
  for (const radio of document.querySelectorAll('input[name="shade-by"]')) {
    radio.addEventListener('change', () => {
      const bySource = radio.value === 'source' && radio.checked;
      document.body.classList.toggle('by-source', bySource);
      $('legend-p').hidden = bySource;
      $('legend-source').hidden = !bySource;
    });
  }
}

function start() {
  legend();
  new Chat(askForKey);
  for (const a of document.querySelectorAll('nav a[data-view]')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      history.pushState(null, '', a.getAttribute('href'));
      show(a.dataset.view);
    });
  }
  window.addEventListener('popstate', () => show(viewOf(location.pathname)));
  $('key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    setApiKey($('api-key').value.trim());
    $('api-key').value = '';
    await loadModel();
    $('key-error').textContent = card ? '' : 'That key was not accepted.';
  });
  show(viewOf(location.pathname));
  loadModel();
}

start();
