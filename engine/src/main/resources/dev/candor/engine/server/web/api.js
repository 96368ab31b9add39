// The page's only way to the server: the OpenAI-compatible API, same-origin, JSON in and out, and the probe's files.
// The API key (when the server has one) lives in this module's memory only: never in storage, cookies or the URL.

let apiKey = null;

/** An error the server or the network gave, with the message a person should see. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function setApiKey(key) {
  apiKey = key ? key : null;
}

function headers(extra) {
  const h = { ...extra };
  if (apiKey) {
    h.Authorization = 'Bearer ' + apiKey;
  }
  return h;
}

async function failure(response) {
  let message = 'HTTP ' + response.status;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) {
      message = body.error.message;
    }
  } catch (notJson) {
    // keep the status line
  }
  return new ApiError(response.status, message);
}

async function get(path) {
  let response;
  try {
    response = await fetch(path, { headers: headers({}), cache: 'no-store' });
  } catch (network) {
    throw new ApiError(0, 'the server cannot be reached');
  }
  if (!response.ok) {
    throw await failure(response);
  }
  return response;
}

/** GET /v1/models: the served model's card. */
export async function models() {
  return (await get('/v1/models')).json();
}

/** The probe's report and the names of its diagrams: {probe, report_markdown, diagrams}. */
export async function probeIndex() {
  return (await get('/ui/probe/index.json')).json();
}

/** A diagram as a blob: URL (fetched with the key, which an <img src> could not send). */
export async function diagramUrl(name) {
  const blob = await (await get('/ui/probe/' + encodeURIComponent(name))).blob();
  return URL.createObjectURL(blob);
}

/**
 * POST /v1/chat/completions with stream: true; calls onChunk(parsed) for each server-sent event until [DONE].
 * A stream that carries an error object ends with that error thrown.
 */
export async function streamChat(body, onChunk, signal) {
  let response;
  try {
    response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
      body: JSON.stringify({ ...body, stream: true }),
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') {
      throw e;
    }
    throw new ApiError(0, 'the server cannot be reached');
  }
  if (!response.ok) {
    throw await failure(response);
  }
  await readEvents(response.body, (data) => {
    const chunk = JSON.parse(data);
    if (chunk.error) {
      throw new ApiError(500, chunk.error.message || 'the server failed mid-stream');
    }
    onChunk(chunk);
  });
}

/** Server-sent events (HTML spec, "Server-sent events"): data lines joined, comments (": keep-alive") skipped. */
async function readEvents(stream, onData) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, '')).join('\n');
      if (data === '[DONE]') {
        await reader.cancel();
        return;
      }
      if (data) {
        onData(data);
      }
    }
  }
}
