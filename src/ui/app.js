// The dashboard: a page over the REST API, signed in with an API key kept in this tab's session
// storage only. Views by URL hash: #/jobs, #/jobs/<id> (live curves from the job's event stream),
// #/new (submit a job), #/prompts, #/prompts/<id> (downloads, try predict or generate).
'use strict';

const KEY = 'lopt-api-key';
const main = document.getElementById('main');
let leaving = () => {}; // stops the current view's polling or stream when the hash changes

const apiKey = () => sessionStorage.getItem(KEY);
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { authorization: `Bearer ${apiKey()}`, ...(options.headers || {}) } });
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    route();
    throw new Error('signed out: the key was refused');
  }
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${response.status}`);
  return body;
}

function show(html) {
  main.innerHTML = html;
}

function fail(err) {
  const box = document.createElement('p');
  box.className = 'error';
  box.textContent = err.message;
  main.prepend(box);
}

function signIn() {
  document.getElementById('nav').hidden = true;
  show(`<section><h2>Sign in</h2>
    <p class="muted">Your API key stays in this browser tab only.</p>
    <form id="sign-in"><label for="key">API key</label><input id="key" type="password" autocomplete="off" required>
    <button class="primary" type="submit">Sign in</button></form></section>`);
  document.getElementById('sign-in').addEventListener('submit', async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById('key').value.trim());
    try {
      await api('/v1/models');
      // A changed hash routes by itself (hashchange); routing here too would start the view twice.
      if (location.hash === '#/jobs') route();
      else location.hash = '#/jobs';
    } catch (err) {
      fail(err);
    }
  });
}

async function jobsView() {
  show('<section><h2>Jobs</h2><table id="jobs"><thead><tr><th>Job</th><th>Kind</th><th>Model</th><th>Status</th><th>Step</th><th>Created</th></tr></thead><tbody></tbody></table></section>');
  const refresh = async () => {
    const { items } = await api('/v1/jobs?limit=50');
    const body = document.querySelector('#jobs tbody');
    if (!body) return; // the view was left while the request was out
    body.innerHTML = items
      .map((job) => `<tr><td><a href="#/jobs/${job.id}">${job.id.slice(0, 8)}</a></td><td>${job.kind}</td><td>${escape(job.model)}</td>
        <td class="status ${job.status}">${job.status}</td><td>${job.progress ? `${job.progress.step} / ${job.progress.totalSteps ?? '?'}` : ''}</td>
        <td>${new Date(job.createdAt).toLocaleString()}</td></tr>`)
      .join('');
  };
  await refresh();
  const timer = setInterval(() => refresh().catch(fail), 2000);
  leaving = () => clearInterval(timer);
}

/** Training loss and validation accuracy by step, drawn with uPlot; `add` puts a point in and redraws. */
function lossChart(container) {
  const steps = [];
  const loss = [];
  const accuracy = [];
  const plot = new uPlot(
    {
      width: Math.min(container.clientWidth || 800, 900), height: 300,
      scales: { x: { time: false }, accuracy: { range: [0, 1] } },
      axes: [{ label: 'step' }, { label: 'training loss' }, { side: 1, scale: 'accuracy', label: 'validation accuracy', grid: { show: false } }],
      series: [{ label: 'step' }, { label: 'training loss', stroke: '#2f6fde', width: 2 }, { label: 'validation accuracy', stroke: '#1b7f3b', width: 2, scale: 'accuracy', points: { show: true } }],
    },
    [steps, loss, accuracy],
    container,
  );
  return {
    add(step, values) {
      let at = steps.indexOf(step);
      if (at < 0) {
        at = steps.findIndex((s) => s > step);
        if (at < 0) at = steps.length;
        steps.splice(at, 0, step);
        loss.splice(at, 0, null);
        accuracy.splice(at, 0, null);
      }
      if (values.loss !== undefined) loss[at] = values.loss;
      if (values.accuracy !== undefined) accuracy[at] = values.accuracy;
      plot.setData([steps, loss, accuracy]);
      container.dataset.points = String(loss.filter((v) => v !== null).length);
      container.dataset.validationPoints = String(accuracy.filter((v) => v !== null).length);
    },
  };
}

/** Reads the job's Server-Sent Events with fetch (EventSource cannot send the key), calling `onEvent` for each. */
async function followEvents(jobId, onEvent, signal) {
  const response = await fetch(`/v1/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${apiKey()}`, accept: 'text/event-stream' }, signal });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const data = buffer.slice(0, end).split('\n').find((line) => line.startsWith('data: '));
      buffer = buffer.slice(end + 2);
      if (data) onEvent(JSON.parse(data.slice(6)));
    }
  }
}

async function jobView(id) {
  show(`<section><h2>Job <span class="muted">${escape(id)}</span></h2>
    <p>Status: <span id="status" class="status"></span> <progress id="progress" max="1" value="0"></progress> <span id="step"></span> <span id="eta" class="muted"></span></p>
    <p id="job-error" class="error"></p><p id="prompt-link"></p>
    <div id="chart"></div><h3>Events</h3><ul id="events"></ul></section>`);
  const chart = lossChart(document.getElementById('chart'));
  const render = (job) => {
    const status = document.getElementById('status');
    status.textContent = job.status;
    status.className = `status ${job.status}`;
    const { step = 0, totalSteps, etaSeconds } = job.progress ?? {};
    document.getElementById('progress').value = totalSteps ? step / totalSteps : 0;
    document.getElementById('step').textContent = totalSteps ? `step ${step} of ${totalSteps}` : '';
    document.getElementById('eta').textContent = etaSeconds !== undefined ? `about ${Math.round(etaSeconds)} s left` : '';
    document.getElementById('job-error').textContent = job.error ? `${job.error.code}: ${job.error.message}` : '';
    if (job.promptId && job.kind === 'train') document.getElementById('prompt-link').innerHTML = `Prompt: <a id="prompt" href="#/prompts/${job.promptId}">${job.promptId}</a>`;
  };
  render(await api(`/v1/jobs/${id}`));
  const { items } = await api(`/v1/jobs/${id}/metrics?limit=10000`);
  for (const metric of items) chart.add(metric.step, metric.split === 'train' ? { loss: metric.loss } : { accuracy: metric.accuracy ?? undefined });
  const stop = new AbortController();
  leaving = () => stop.abort();
  followEvents(id, (event) => {
    const item = document.createElement('li');
    item.textContent = `${new Date(event.created_at * 1000).toLocaleTimeString()} ${event.level}: ${event.message}`;
    document.getElementById('events').append(item);
    const data = event.data ?? {};
    if (event.type === 'metrics') chart.add(data.step, data.split === 'train' ? { loss: data.loss } : { accuracy: data.accuracy });
    if (data.status || event.type === 'metrics') api(`/v1/jobs/${id}`).then(render, fail);
  }, stop.signal).catch((err) => {
    if (err.name !== 'AbortError') fail(err);
  });
}

async function newJobView() {
  const [{ items: models }, { items: tasks }, { items: datasets }] = await Promise.all([api('/v1/models'), api('/v1/tasks'), api('/v1/datasets?limit=100')]);
  const options = (items, label) => items.map((item) => `<option value="${escape(item.id)}">${escape(label(item))}</option>`).join('');
  show(`<section><h2>New job</h2><form id="new-job">
    <label for="model">Model</label><select id="model">${options(models, (m) => `${m.id} (${m.modelType}, d = ${m.hiddenSize})`)}</select>
    <label for="task">Task</label><select id="task">${options(tasks, (t) => `${t.id}: ${t.title}`)}</select>
    <label for="dataset">Dataset</label><select id="dataset">${options(datasets, (d) => `${d.name} (${d.rowCount} rows)`)}</select>
    <label for="upload">…or upload one (the task's format)</label><input id="upload" type="file">
    <label for="method">Method</label><select id="method"><option>lopt1</option><option>lopt2</option><option>pt</option></select>
    <label for="n">Virtual tokens n</label><input id="n" type="number" value="10" min="1">
    <label for="r">Rank r (LoPT)</label><input id="r" type="number" value="4" min="1">
    <label for="max-steps">Training steps</label><input id="max-steps" type="number" value="100" min="1">
    <label for="eval-every">Evaluate every (steps)</label><input id="eval-every" type="number" value="20" min="0">
    <button class="primary" type="submit">Submit</button></form></section>`);
  document.getElementById('new-job').addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = (id) => document.getElementById(id).value;
    try {
      let datasetId = value('dataset');
      const file = document.getElementById('upload').files[0];
      if (file) {
        const uploaded = await api(`/v1/datasets?name=${encodeURIComponent(file.name)}&preset=${value('task')}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: file });
        datasetId = uploaded.id;
      }
      const method = value('method');
      const job = await api('/v1/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: value('model'), datasetId, task: value('task'), method, n: Number(value('n')), ...(method === 'pt' ? {} : { r: Number(value('r')) }),
          hyperparameters: { maxSteps: Number(value('max-steps')), evalEvery: Number(value('eval-every')) },
        }),
      });
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      fail(err);
    }
  });
}

async function promptsView() {
  const { items } = await api('/v1/prompts?limit=100');
  show(`<section><h2>Prompts</h2><table><thead><tr><th>Prompt</th><th>Model</th><th>Method</th><th>Parameters</th><th>Source</th></tr></thead><tbody>
    ${items.map((p) => `<tr><td><a href="#/prompts/${p.id}">${p.id.slice(0, 8)}</a></td><td>${escape(p.model)}</td><td>${p.method}</td><td>${p.trainableParameters}</td><td>${p.source}</td></tr>`).join('')}
    </tbody></table></section>`);
}

/** Saves a download the key authorizes (a plain link could not send it). */
async function download(path, name) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${apiKey()}` } });
  if (!response.ok) throw new Error(`download failed: HTTP ${response.status}`);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

async function promptView(id) {
  const prompt = await api(`/v1/prompts/${id}`);
  const classifies = prompt.task.kind === 'classification';
  show(`<section><h2>Prompt <span class="muted">${escape(id)}</span></h2>
    <table><tbody>
      <tr><th>Model</th><td>${escape(prompt.model)}</td></tr><tr><th>Method</th><td>${prompt.method} (n = ${prompt.n}${prompt.r ? `, r = ${prompt.r}` : ''})</td></tr>
      <tr><th>Trainable parameters</th><td>${prompt.trainableParameters}</td></tr><tr><th>Template</th><td><code>${escape(prompt.task.template)}</code></td></tr>
      <tr><th>Metrics</th><td>${escape(JSON.stringify(prompt.metrics))}</td></tr>
    </tbody></table>
    <p><button id="get-safetensors" type="button">Download prompt file</button> <button id="get-peft" type="button">Download PEFT adapter</button></p></section>
    <section><h3>Try it</h3><label for="inputs">One input per line</label><textarea id="inputs" rows="4"></textarea>
    <button id="try" class="primary" type="button">${classifies ? 'Predict' : 'Generate'}</button><table id="outputs"><tbody></tbody></table></section>`);
  document.getElementById('get-safetensors').onclick = () => download(`/v1/prompts/${id}/weights?format=safetensors`, `prompt-${id}.safetensors`).catch(fail);
  document.getElementById('get-peft').onclick = () => download(`/v1/prompts/${id}/weights?format=peft`, `prompt-${id}-peft.tar`).catch(fail);
  document.getElementById('try').onclick = async () => {
    const texts = document.getElementById('inputs').value.split('\n').map((t) => t.trim()).filter(Boolean);
    if (texts.length === 0) return;
    try {
      const rows = classifies
        ? (await api(`/v1/prompts/${id}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts }) })).predictions
            .map((p, i) => `<tr><td>${escape(texts[i])}</td><td class="label">${escape(p.label)} (${escape(p.labelWord.trim())})</td><td>${(p.probabilities[p.label] * 100).toFixed(1)}%</td></tr>`)
        : (await api(`/v1/prompts/${id}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts }) })).outputs
            .map((o, i) => `<tr><td>${escape(texts[i])}</td><td class="label">${escape(o.text)}</td></tr>`);
      document.querySelector('#outputs tbody').innerHTML = rows.join('');
    } catch (err) {
      fail(err);
    }
  };
}

async function route() {
  leaving();
  leaving = () => {};
  if (!apiKey()) return signIn();
  document.getElementById('nav').hidden = false;
  const [, view, id] = (location.hash || '#/jobs').split('/');
  try {
    if (view === 'jobs' && id) await jobView(id);
    else if (view === 'new') await newJobView();
    else if (view === 'prompts' && id) await promptView(id);
    else if (view === 'prompts') await promptsView();
    else await jobsView();
  } catch (err) {
    fail(err);
  }
}

document.getElementById('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  location.hash = '';
  route();
});
window.addEventListener('hashchange', route);
route();
